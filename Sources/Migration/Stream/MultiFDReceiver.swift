import Glibc
import Machine
import Platform
import Synchronization

/// The destination's multifd channels (QEMU's multifd_recv_*): a thread per channel reads each packet's header
/// and then its pages straight into guest RAM with one readv. At a SYNC packet the thread waits until the main
/// stream's loader has reached the matching EOS (`sync`), so that the pages of one RAM section are all in before
/// anything of the next is applied, whichever channel carries it.
///
/// Made by the incoming migration once every channel has introduced itself; `finish` ends it.
final class MultiFDReceiver: Sendable {
    private final class Shared: Sendable {
        let failure = Mutex<MigrationError?>(nil)
        /// Posted by each channel at its SYNC packet, or once when it fails.
        let synced = ThreadSemaphore()
        let quitting = Atomic<Bool>(false)
    }

    private let channels: [MigrationChannel]
    /// Posted by `sync` to let each channel go on past its SYNC packet.
    private let releases: [ThreadSemaphore]
    private let threads: Mutex<[pthread_t]>
    private let shared = Shared()

    /// `channels` in channel id order. `onFailure` runs on a channel's thread when it fails, so that a loader
    /// blocked on the main stream learns of it (the incoming migration shuts the main channel down).
    init(channels: [MigrationChannel], ram: GuestRAM, onFailure: @escaping @Sendable () -> Void) throws(MigrationError) {
        self.channels = channels
        let releases = channels.map { _ in ThreadSemaphore() }
        self.releases = releases
        var started: [pthread_t] = []
        let shared = self.shared
        for (id, channel) in channels.enumerated() {
            let fd = channel.readDescriptor
            let release = releases[id]
            let result = PlatformThread.start {
                do throws(MigrationError) {
                    try MultiFDReceiver.receive(fd: fd, id: id, ram: ram, shared: shared, release: release)
                } catch {
                    guard !shared.quitting.load(ordering: .acquiring) else { return }
                    shared.failure.withLock { $0 = $0 ?? error }
                    shared.synced.signal()
                    onFailure()
                }
            }
            guard case .success(let thread) = result else {
                threads = Mutex(started)
                finish()
                throw MigrationError("cannot start a thread for multifd channel \(id)")
            }
            started.append(thread)
        }
        threads = Mutex(started)
    }

    /// One channel's packets until its socket ends at a packet boundary.
    private static func receive(
        fd: Int32, id: Int, ram: GuestRAM, shared: Shared, release: ThreadSemaphore
    ) throws(MigrationError) {
        let packet = UnsafeMutableRawPointer.allocate(byteCount: MultiFDPacket.size, alignment: 8)
        let offsets = UnsafeMutablePointer<UInt64>.allocate(capacity: MultiFDPacket.pagesPerPacket)
        let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: MultiFDPacket.pagesPerPacket)
        defer {
            packet.deallocate()
            offsets.deallocate()
            vectors.deallocate()
        }
        try ram.withLoadingBytes { (all) throws(MigrationError) in
            guard let base = all.baseAddress else { return }
            while !shared.quitting.load(ordering: .acquiring) {
                var header = iovec(iov_base: packet, iov_len: MultiFDPacket.size)
                guard try readAll(fd, &header, 1, endAllowed: true) else { return }
                let parsed = try MultiFDPacket.parse(packet, ramSize: ram.size, offsets: offsets, channel: id)
                if parsed.pageCount > 0 {
                    for k in 0..<parsed.pageCount {
                        let page = Int(offsets[k] >> UInt64(GuestRAM.pageShift))
                        // Marked before it is written, as the loader's contract with guest RAM asks.
                        ram.populated.mark(page)
                        vectors[k] = iovec(iov_base: base + Int(offsets[k]), iov_len: GuestRAM.pageSize)
                    }
                    _ = try readAll(fd, vectors, parsed.pageCount, endAllowed: false)
                }
                if parsed.flags & MultiFDPacket.syncFlag != 0 {
                    shared.synced.signal()
                    release.wait()
                }
            }
        }
    }

    /// A channel's MultiFDInit_t, read exactly: what follows it is the channel thread's.
    static func readInit(_ fd: Int32) throws(MigrationError) -> [UInt8] {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: MultiFDPacket.initSize, alignment: 8)
        defer { raw.deallocate() }
        var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
        _ = try readAll(fd, &vector, 1, endAllowed: false)
        return Array(raw)
    }

    /// readv until every iovec is full, advancing through them on short reads. False when the stream ended before
    /// the first byte and `endAllowed`; an end anywhere else is `Input/output error`.
    private static func readAll(
        _ fd: Int32, _ vectors: UnsafeMutablePointer<iovec>, _ count: Int, endAllowed: Bool
    ) throws(MigrationError) -> Bool {
        var first = 0
        var any = false
        while first < count {
            guard case .success(let got) = retryingInterrupts({ readv(fd, vectors + first, Int32(count - first)) })
            else { throw QEMUFileReader.ioError }
            if got == 0 {
                if endAllowed && !any { return false }
                throw QEMUFileReader.ioError
            }
            any = true
            var left = got
            while left > 0, left >= vectors[first].iov_len {
                left -= vectors[first].iov_len
                first += 1
            }
            if left > 0 {
                vectors[first].iov_base += left
                vectors[first].iov_len -= left
            }
        }
        return true
    }

    /// multifd_recv_sync_main, at the main stream's EOS in a RAM section: waits for every channel's SYNC packet
    /// (its pages before it are in guest RAM), then lets them all go on.
    func sync() throws(MigrationError) {
        for _ in channels { shared.synced.wait() }
        if let error = shared.failure.withLock({ $0 }) { throw error }
        releases.forEach { $0.signal() }
    }

    /// The first error a channel met.
    var failure: MigrationError? { shared.failure.withLock { $0 } }

    /// Ends the channels' threads (shutting their sockets down wakes any read) and closes the channels. Idempotent.
    func finish() {
        shared.quitting.store(true, ordering: .releasing)
        channels.forEach { $0.shutdown() }
        releases.forEach { $0.signal() }
        let joining = threads.withLock { threads in
            defer { threads = [] }
            return threads
        }
        for thread in joining { pthread_join(thread, nil) }
        channels.forEach { $0.close() }
    }
}
