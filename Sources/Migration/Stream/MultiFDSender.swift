import Machine
import Platform
import Synchronization

/// The source's multifd channels (QEMU's multifd_send_*): the migration thread gathers the RAM pages it would put
/// in PAGE records into packets of up to 128 and hands each, in turn, to the next channel's thread, which writes the
/// packet's header and its pages (by reference, from guest RAM) to its own socket. So the copies into the sockets
/// run on as many threads as there are channels, beside the migration thread's scan. ZERO records stay in the main
/// stream, as QEMU 7.2's.
///
/// `sync` ends a RAM section's share: every channel writes a SYNC packet, and the main stream's EOS follows only
/// once all have (the destination waits at that EOS for every channel's SYNC). Owned by the migration thread;
/// `shutdown` may come from any thread.
final class MultiFDSender {
    /// Packets each channel may have queued behind the one it writes.
    static let queueDepth = 2

    /// One channel's packets in the making: a ring of `queueDepth + 1` slots, so that the slot the migration thread
    /// fills next is never one the channel's thread still reads (FIFO: when a submit returns, the oldest has run).
    private final class Slots: Sendable {
        static let count = MultiFDSender.queueDepth + 1
        // Written by the migration thread before the job that names the slot is submitted, read by the channel's
        // thread after it takes the job: the worker's semaphores order the two.
        nonisolated(unsafe) let offsets: UnsafeMutablePointer<UInt64>
        nonisolated(unsafe) let pages: UnsafeMutablePointer<UnsafeRawPointer>
        nonisolated(unsafe) let counts: UnsafeMutablePointer<Int>
        nonisolated(unsafe) let numbers: UnsafeMutablePointer<UInt64>

        init() {
            offsets = .allocate(capacity: Slots.count * MultiFDPacket.pagesPerPacket)
            pages = .allocate(capacity: Slots.count * MultiFDPacket.pagesPerPacket)
            counts = .allocate(capacity: Slots.count)
            numbers = .allocate(capacity: Slots.count)
        }

        deinit {
            offsets.deallocate()
            pages.deallocate()
            counts.deallocate()
            numbers.deallocate()
        }
    }

    private enum Job: Sendable {
        case pages(slot: Int)
        case sync(number: UInt64)
    }

    /// What the channels' threads share with the migration thread.
    private final class Shared: Sendable {
        let failure = Mutex<MigrationError?>(nil)
        /// Posted once per SYNC packet written (or given up on after a failure).
        let synced = ThreadSemaphore()
    }

    private let channels: [MigrationChannel]
    private let workers: [WorkerThread<Job>]
    private let slots: [Slots]
    private let shared = Shared()
    /// The slot each channel's next packet goes in, and the channel the next packet goes to.
    private var nextSlot: [Int]
    private var nextChannel = 0
    /// The packet being gathered: pages so far (in the next channel's next slot).
    private var gathered = 0
    /// QEMU numbers every packet, SYNC ones too, across all channels.
    private var packetNumber: UInt64 = 0
    /// Bytes handed to the channels, headers included (`multifd bytes`).
    private(set) var bytesQueued: UInt64 = 0

    /// Starts a thread per channel; each first writes its MultiFDInit_t. `channels` are connected sockets, in
    /// channel id order.
    init(channels: [MigrationChannel]) throws(MigrationError) {
        self.channels = channels
        let slots = channels.map { _ in Slots() }
        self.slots = slots
        nextSlot = Array(repeating: 0, count: channels.count)
        var workers: [WorkerThread<Job>] = []
        for (id, channel) in channels.enumerated() {
            let shared = self.shared
            let ring = slots[id]
            let fd = channel.writeDescriptor
            guard let worker = WorkerThread<Job>(capacity: MultiFDSender.queueDepth, body: { worker in
                MultiFDSender.run(worker, id: UInt8(id), fd: fd, slots: ring, shared: shared)
            }) else {
                workers.forEach { $0.stop() }
                throw MigrationError("cannot start a thread for multifd channel \(id)")
            }
            workers.append(worker)
        }
        self.workers = workers
    }

    /// A channel's thread: the init packet, then each job's packet and pages, until `stop`. After a failure it only
    /// takes jobs, so the migration thread never waits on a channel that no longer writes.
    private static func run(_ worker: WorkerThread<Job>, id: UInt8, fd: Int32, slots: Slots, shared: Shared) {
        let writer = QEMUFileWriter(fileDescriptor: fd, bufferSize: 64 << 10)
        let packet = UnsafeMutableRawPointer.allocate(byteCount: MultiFDPacket.size, alignment: 8)
        defer { packet.deallocate() }
        var failed = false
        func fail(_ error: MigrationError) {
            failed = true
            shared.failure.withLock { $0 = $0 ?? error }
        }
        do throws(MigrationError) {
            try writer.putBytes(MultiFDPacket.initBytes(channel: id))
            try writer.flush()
        } catch {
            fail(error)
        }
        worker.forEach { job in
            switch job {
            case .pages(let slot):
                guard !failed else { return }
                let base = slot * MultiFDPacket.pagesPerPacket
                let count = slots.counts[slot]
                MultiFDPacket.fill(
                    packet, flags: 0, offsets: UnsafeBufferPointer(start: slots.offsets + base, count: count),
                    number: slots.numbers[slot])
                do throws(MigrationError) {
                    try writer.putBytes(UnsafeRawBufferPointer(start: packet, count: MultiFDPacket.size))
                    for k in 0..<count { try writer.putExternal(slots.pages[base + k], count: GuestRAM.pageSize) }
                    try writer.flush()
                } catch {
                    fail(error)
                }
            case .sync(let number):
                defer { shared.synced.signal() }
                guard !failed else { return }
                MultiFDPacket.fill(
                    packet, flags: MultiFDPacket.syncFlag, offsets: UnsafeBufferPointer(start: nil, count: 0),
                    number: number)
                do throws(MigrationError) {
                    try writer.putBytes(UnsafeRawBufferPointer(start: packet, count: MultiFDPacket.size))
                    try writer.flush()
                } catch {
                    fail(error)
                }
            }
        }
    }

    /// The first error a channel met, as the migration's.
    private func checkFailure() throws(MigrationError) {
        if let error = shared.failure.withLock({ $0 }) { throw error }
    }

    /// Adds the page at `offset` (at `pointer` in guest RAM) to the packet being gathered; a full packet goes to
    /// its channel. Returns the bytes this handed to a channel (0 while gathering).
    @inline(__always)
    func queue(offset: UInt64, pointer: UnsafeRawPointer) throws(MigrationError) -> Int {
        let channel = nextChannel
        let at = nextSlot[channel] * MultiFDPacket.pagesPerPacket + gathered
        slots[channel].offsets[at] = offset
        slots[channel].pages[at] = pointer
        gathered += 1
        return gathered == MultiFDPacket.pagesPerPacket ? try dispatch() : 0
    }

    /// Hands the gathered packet to its channel, waiting while that channel has `queueDepth` queued.
    private func dispatch() throws(MigrationError) -> Int {
        try checkFailure()
        let channel = nextChannel
        let slot = nextSlot[channel]
        let ring = slots[channel]
        ring.counts[slot] = gathered
        ring.numbers[slot] = packetNumber
        packetNumber += 1
        workers[channel].submit(.pages(slot: slot))
        let bytes = MultiFDPacket.size + gathered * GuestRAM.pageSize
        bytesQueued += UInt64(bytes)
        gathered = 0
        nextSlot[channel] = (slot + 1) % Slots.count
        nextChannel = (channel + 1) % channels.count
        return bytes
    }

    /// multifd_send_sync_main: the gathered pages go, then a SYNC packet on every channel; returns once all are
    /// written, with the bytes handed to the channels.
    func sync() throws(MigrationError) -> Int {
        var bytes = gathered > 0 ? try dispatch() : 0
        for worker in workers {
            worker.submit(.sync(number: packetNumber))
            packetNumber += 1
            bytes += MultiFDPacket.size
        }
        bytesQueued += UInt64(workers.count * MultiFDPacket.size)
        for _ in workers { shared.synced.wait() }
        try checkFailure()
        return bytes
    }

    /// Wakes the channels' threads out of any blocked write (cancel, or a failed migration); from any thread.
    func shutdown() {
        channels.forEach { $0.shutdown() }
    }

    /// Ends the threads after what they have queued, then closes the channels. A failed migration calls `shutdown`
    /// first, so that nothing waits on a peer that went away.
    func stop() {
        workers.forEach { $0.stop() }
        channels.forEach { $0.close() }
    }
}
