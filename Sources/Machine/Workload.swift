import Glibc
import Platform
import Synchronization

/// Stands in for the guest's vCPUs: a thread that, while the machine runs, overwrites random whole RAM pages and
/// random 256 KiB disk extents of the writable drives at the configured rates, which marks them dirty. It works in
/// 10 ms slices and holds its control lock for each write, so `pause()` returns only once no more guest writes
/// can happen — as `vm_stop` returns with the vCPUs stopped.
public final class Workload: Sendable {
    public enum Mode: Sendable { case running, paused, stopped }

    /// Disk writes come in 256 KiB extents, as a guest writing files does: random 4 KiB writes would dirty a
    /// whole 1 MiB migration chunk each, and no disk could converge under even a modest write rate.
    public static let blockSize = 256 << 10
    static let sliceMicroseconds: UInt32 = 10_000
    /// The most one slice writes, RAM and disk each: a rate like `ram=1E` then means "as fast as one thread can",
    /// and the slice still ends soon enough for pause and stop to take effect at once.
    static let sliceLimitBytes = Double(32 << 20)

    public let rates: WorkloadRates
    private let ram: GuestRAM
    private let drives: [Drive]
    private let control: Mutex<Mode>
    private let thread = Mutex<pthread_t?>(nil)
    private let ramWritten = Atomic<UInt64>(0)
    private let diskWritten = Atomic<UInt64>(0)
    /// auto-converge's throttle, 0 to 99: the guest writes (100 − it) % of its rates, as a vCPU throttled by QEMU
    /// sleeps that share of each time slice.
    private let throttlePercent = Atomic<UInt8>(0)

    /// Starts the thread at once, in `mode` (running or paused).
    public init(rates: WorkloadRates, ram: GuestRAM, drives: [Drive], mode: Mode = .paused) {
        self.rates = rates
        self.ram = ram
        self.drives = drives.filter { !$0.readOnly && $0.size >= UInt64(Workload.blockSize) }
        self.control = Mutex(mode)
        guard mode != .stopped else { return }
        switch PlatformThread.start({ [self] in run() }) {
        case .success(let tid): thread.withLock { $0 = tid }
        case .failure: control.withLock { $0 = .stopped }
        }
    }

    public var mode: Mode { control.withLock { $0 } }
    /// Bytes the workload has written to RAM and to disks since it began.
    public var ramBytesWritten: UInt64 { ramWritten.load(ordering: .relaxed) }
    public var diskBytesWritten: UInt64 { diskWritten.load(ordering: .relaxed) }

    /// The auto-converge throttle in force, 0 when none.
    public var throttle: UInt8 { throttlePercent.load(ordering: .relaxed) }

    /// Sets the throttle (clamped to 99, as QEMU's cpu_throttle_set); 0 removes it. Takes effect from the next
    /// 10 ms slice.
    public func setThrottle(percent: UInt8) {
        throttlePercent.store(min(percent, 99), ordering: .relaxed)
    }

    public func resume() {
        control.withLock { if $0 == .paused { $0 = .running } }
    }

    /// Returns once the current slice, if any, has finished; no guest writes happen after that until `resume()`.
    public func pause() {
        control.withLock { if $0 == .running { $0 = .paused } }
    }

    /// Ends the thread and waits for it.
    public func stop() {
        control.withLock { $0 = .stopped }
        let tid = thread.withLock { t -> pthread_t? in
            defer { t = nil }
            return t
        }
        if let tid, !pthread_equal(tid, pthread_self()).isTrue { pthread_join(tid, nil) }
    }

    private func run() {
        let regionPages = rates.ramRegion.map { Int(min($0 >> UInt64(GuestRAM.pageShift), UInt64(Int.max))) }
        let ramPages = max(1, min(regionPages ?? ram.pageCount, ram.pageCount))
        var rng = SplitMix64(seed: UInt64(UInt(bitPattern: ObjectIdentifier(self).hashValue)) ^ Clock.nanoseconds())
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: Workload.blockSize, alignment: 8)
        defer { block.deallocate() }
        var last = Clock.nanoseconds()
        var ramCredit = 0.0
        var diskCredit = 0.0
        while true {
            let mode = control.withLock { mode -> Mode in
                let now = Clock.nanoseconds()
                // Seconds since the last slice, capped so a late wake-up does not turn into a burst.
                let elapsed = min(Double(now &- last) / 1e9, 0.1)
                last = now
                guard mode == .running else {
                    ramCredit = 0
                    diskCredit = 0
                    return mode
                }
                let share = Double(100 - Int(throttlePercent.load(ordering: .relaxed))) / 100 * elapsed
                ramCredit = min(ramCredit + Double(rates.ramBytesPerSecond) * share, Workload.sliceLimitBytes)
                diskCredit = drives.isEmpty
                    ? 0 : min(diskCredit + Double(rates.diskBytesPerSecond) * share, Workload.sliceLimitBytes)
                return mode
            }
            if mode == .running {
                writeSlice(ramCredit: &ramCredit, diskCredit: &diskCredit, rng: &rng, block: block, ramPages: ramPages)
            }
            if mode == .stopped { return }
            usleep(Workload.sliceMicroseconds)
        }
    }
}

extension Workload {
    /// One slice's writes, each under the control lock with the mode checked first: `pause()` waits for one page
    /// or extent at the most, not a whole slice (a write into memory the host has not backed yet faults in a huge
    /// page, and a slice of them took over a second on a cold host, all of it added to a migration's downtime).
    fileprivate func writeSlice(
        ramCredit: inout Double, diskCredit: inout Double, rng: inout SplitMix64, block: UnsafeMutableRawBufferPointer,
        ramPages: Int
    ) {
        let pageBytes = UnsafeMutableRawBufferPointer(rebasing: block[0..<GuestRAM.pageSize])
        while ramCredit >= Double(GuestRAM.pageSize) {
            ramCredit -= Double(GuestRAM.pageSize)
            rng.fill(pageBytes)
            let address = (rng.next() % UInt64(ramPages)) << UInt64(GuestRAM.pageShift)
            let page = UnsafeRawBufferPointer(pageBytes)
            guard let wrote = whileRunning({ (try? ram.write(at: address, from: page)) != nil }) else { return }
            if wrote { ramWritten.add(UInt64(GuestRAM.pageSize), ordering: .relaxed) }
        }
        while diskCredit >= Double(Workload.blockSize) {
            diskCredit -= Double(Workload.blockSize)
            rng.fill(block)
            let drive = drives[Int(rng.next() % UInt64(drives.count))]
            let offset = (rng.next() % (drive.size / UInt64(Workload.blockSize))) * UInt64(Workload.blockSize)
            let extent = UnsafeRawBufferPointer(block)
            guard let wrote = whileRunning({ (try? drive.write(at: offset, from: extent)) != nil }) else { return }
            if wrote { diskWritten.add(UInt64(Workload.blockSize), ordering: .relaxed) }
        }
    }

    /// One guest write, under the control lock and only while the guest runs: whether it wrote, nil once stopped.
    private func whileRunning(_ write: () -> Bool) -> Bool? {
        control.withLock { mode in mode == .running ? write() : nil }
    }
}

/// SplitMix64: fast, good enough for filler data, and one multiply-xorshift per 8 bytes.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        let words = buffer.count / 8
        for i in 0..<words { buffer.storeBytes(of: next(), toByteOffset: i * 8, as: UInt64.self) }
    }
}


extension Int32 {
    fileprivate var isTrue: Bool { self != 0 }
}
