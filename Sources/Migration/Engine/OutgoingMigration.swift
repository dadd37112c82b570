import Glibc
public import MigrationModel
import Platform
public import Machine
import Synchronization

/// One outgoing migration and its thread, as the seed's migration_thread: connect, write the setup sections,
/// iterate under the rate limit while re-estimating bandwidth every 100 ms, and stop the guest for the last copy
/// once what is pending fits in downtime-limit at that bandwidth.
public final class OutgoingMigration: Sendable {
    // Immutable after init, or guarded: `progress` by its mutex, `channel` by its own, flags atomic.
    public let uri: MigrationURI
    public let blockMode: BlockMigrationMode
    private let machine: Machine
    private let settings: LiveSettings
    private let progress = Mutex(MigrationInfo())
    private let channel = Mutex<MigrationChannel?>(nil)
    private let cancelRequested = Atomic<Bool>(false)
    private let startTime = Clock.milliseconds()
    /// Whether auto-converge throttles the guest; capabilities cannot change while a migration runs.
    private let autoConverge: Bool
    /// When the last bandwidth window closed: a thread blocked in a write closes none, and its last rate must
    /// not stand for a link on which nothing moves.
    private let lastWindowEnd = Atomic<UInt64>(Clock.milliseconds())
    /// Called once, on the migration thread, when the migration has ended (completed, failed or cancelled).
    private let onFinish: @Sendable (MigrationInfo) -> Void
    /// The monitor's named descriptors, for `fd:NAME`.
    private let descriptors: @Sendable (String) -> Int32?
    /// Told of each status change and pass, outside `progress`'s lock.
    private let observer: MigrationEventObserver?

    /// The window over which bandwidth is measured and the rate limit applies, as QEMU's BUFFER_DELAY.
    static let windowMilliseconds: UInt64 = 100
    /// The most one iterate call writes, so that cancel, the rate limit and the clock are looked at often.
    static let iterateChunk = 4 << 20
    /// How many closed sync periods the status line's measure of headway spans: one period's share swings by a
    /// third either way on a guest that dirties random pages.
    static let recentPeriodCount = 3
    /// A rate older than this (five windows) is stale: nothing has been measured as moving since.
    static let staleRateMilliseconds: UInt64 = 500

    public init(
        uri: MigrationURI, blockMode: BlockMigrationMode, machine: Machine, settings: LiveSettings,
        autoConverge: Bool = false,
        descriptors: @escaping @Sendable (String) -> Int32? = { _ in nil },
        observer: MigrationEventObserver? = nil,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) {
        self.descriptors = descriptors
        self.observer = observer
        self.uri = uri
        self.blockMode = blockMode
        self.machine = machine
        self.settings = settings
        self.autoConverge = autoConverge
        self.onFinish = onFinish
        progress.withLock { info in
            info.status = .setup
            info.ram.total = machine.ram.size
            info.ram.remaining = machine.ram.size
            if blockMode != .none { info.disk = MigrationInfo.DiskStatistics() }
        }
        observer?(.status(.setup))
    }

    /// The latest measured state; safe from any thread. While the migration runs it also measures the channel's
    /// send queue, since the migration thread cannot while a write blocks it.
    public var info: MigrationInfo {
        let now = Clock.milliseconds()
        var copy = progress.withLock { info in
            var copy = info
            if !copy.status.isFinished { copy.totalTime = now - startTime }
            return copy
        }
        copy.rateLimit = settings.maxBandwidth
        copy.autoConverge = autoConverge
        if copy.status.isRunning {
            if now - min(now, lastWindowEnd.load(ordering: .relaxed)) > OutgoingMigration.staleRateMilliseconds {
                copy.ram.mbps = 0
                copy.ram.pagesPerSecond = 0
            }
            copy.sendQueue = channel.withLock { $0?.sendQueue() }.map {
                MigrationInfo.SendQueue(queued: $0.queued, capacity: $0.capacity)
            }
        }
        return copy
    }

    public func start() {
        if case .failure(let error) = PlatformThread.detach({ [self] in run() }) {
            finish(.failed, error: MigrationError("\(error)"))
        }
    }

    /// migrate_cancel: the thread sees the flag between writes, and a write blocked on a slow peer is woken by
    /// shutting the channel down.
    public func cancel() {
        guard !cancelRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        let cancelling = progress.withLock { info -> Bool in
            guard info.status.isRunning, info.status != .cancelling else { return false }
            info.status = .cancelling
            return true
        }
        if cancelling { observer?(.status(.cancelling)) }
        channel.withLock { $0?.shutdown() }
    }

    private var isCancelled: Bool { cancelRequested.load(ordering: .sequentiallyConsistent) }

    private func run() {
        // The state the guest was in when stop-and-copy stopped it, so that a failure puts it back exactly.
        var stoppedGuestFrom: RunState?
        do throws(MigrationError) {
            let connected = try Transport.connect(uri, fds: descriptors, isCancelled: { [weak self] in
                self?.isCancelled ?? true
            })
            channel.withLock { $0 = connected }
            if isCancelled { throw MigrationError("cancelled") }
            let file = QEMUFileWriter(fileDescriptor: connected.writeDescriptor, toCommand: connected.isCommand)
            let saver = SaveVMWriter(machine: machine, blockMode: blockMode)
            try saver.writeSetup(file)
            // The setup's first bitmap sync is pass 1, which QEMU reports before the status turns active.
            publish(saver)
            let setupTime = Clock.milliseconds() - startTime
            let activated = progress.withLock { info -> Bool in
                info.setupTime = setupTime
                guard info.status == .setup else { return false }
                info.status = .active
                return true
            }
            if activated { observer?(.status(.active)) }
            try iterateUntilConverged(saver, file)
            stoppedGuestFrom = machine.runState
            try stopAndCopy(saver, file, runState: stoppedGuestFrom ?? .running)
            connected.close()
            machine.setRunState(.postmigrate)
            finish(.completed, error: nil, bytesSent: file.bytesWritten)
        } catch {
            // Closed outside the lock: an exec: command that stopped reading but lives on is given seconds to
            // finish, and `info migrate` (which measures the channel under this lock) must not wait for it.
            channel.withLock { $0 }?.close()
            // The guest goes on where it was, as QEMU's migrate_fd_cleanup restarts a guest it had stopped.
            if let previous = stoppedGuestFrom { machine.setRunState(previous) }
            finish(isCancelled ? .cancelled : .failed, error: isCancelled ? nil : error)
        }
    }

    private func iterateUntilConverged(_ saver: SaveVMWriter, _ file: QEMUFileWriter) throws(MigrationError) {
        var windowStart = Clock.milliseconds()
        var windowStartBytes = file.bytesWritten
        var threshold: UInt64 = 0
        var firstPassSent = false
        var period = SyncPeriod(start: Clock.milliseconds())
        var throttle = AutoConverge()
        var recent: [SyncPeriod.Closed] = []
        lastWindowEnd.store(windowStart, ordering: .relaxed)
        // The rate limit is a token bucket holding at most one window's worth: a 1 MiB disk chunk may overdraw
        // it, and the debt is paid by waiting, so the average holds even when records are larger than a window.
        var credit = 0.0
        var lastCredit = Clock.nanoseconds()
        while true {
            if isCancelled { throw MigrationError("cancelled") }
            // migration_iteration_run: what is pending (ram_save_pending syncs the dirty bitmap first when it looks
            // smaller than the threshold); the guest stops once it is below the threshold or nothing is left,
            // otherwise one more iterate. Before the first window the threshold is 0: a pass sent whole within it
            // (an idle guest) leaves nothing pending and the guest stops without another sync, as QEMU's.
            // Unlike QEMU 7.2, the threshold counts only once the first pass (RAM and the disks' bulk copy) is
            // whole: QEMU stops the guest mid-pass as soon as the rest fits in downtime-limit, so an idle guest that
            // takes a little over 100 ms is paused while the rest of it is sent; finishing the pass while the guest
            // runs costs nothing, and leaves the pause only what the guest wrote meanwhile.
            let pendingRAM = saver.pendingRAMBytes
            var pending = pendingRAM + saver.pendingDiskBytes
            if !firstPassSent { firstPassSent = pendingRAM == 0 && (saver.block?.bulkCompleted ?? true) }
            let stopBelow = firstPassSent ? threshold : 0
            if pending < stopBelow {
                saver.syncDirty()
                let newlyDirty = (saver.pendingRAMBytes &- pendingRAM) / 4096
                let sent = saver.statistics.ramTransferredBytes
                if let closed = period.sync(newlyDirty: newlyDirty, transferred: sent, now: Clock.milliseconds()) {
                    recent = Array((recent + [closed]).suffix(OutgoingMigration.recentPeriodCount))
                    let together = MigrationInfo.Period(
                        dirtyBytes: recent.reduce(0) { $0 &+ $1.dirtyPages } &* UInt64(GuestRAM.pageSize),
                        sentBytes: recent.reduce(0) { $0 &+ $1.transferredBytes },
                        milliseconds: recent.reduce(0) { $0 &+ $1.milliseconds })
                    progress.withLock { info in
                        info.ram.dirtyPagesRate = closed.dirtyPagesRate
                        info.recentPeriods = together
                    }
                    if autoConverge { adjustThrottle(&throttle, closed, saver) }
                }
                pending = saver.pendingRAMBytes + saver.pendingDiskBytes
            }
            if pending == 0 || pending < stopBelow { return }
            let limit = Double(settings.maxBandwidth)
            let tick = Clock.nanoseconds()
            if limit == 0 {
                // max-bandwidth 0 is no limit, as QEMU 7.2's qemu_file_rate_limit (rate_limit_max > 0 && ...).
                credit = Double(OutgoingMigration.iterateChunk)
            } else {
                credit = min(credit + limit * Double(tick - lastCredit) / 1e9,
                             limit * Double(OutgoingMigration.windowMilliseconds) / 1000)
            }
            lastCredit = tick
            if credit >= 1 {
                let budget = Int(min(credit, Double(OutgoingMigration.iterateChunk)))
                let before = file.bytesWritten
                _ = try saver.iterate(file, budget: budget)
                credit -= Double(file.bytesWritten - before)
            } else {
                try file.flush()
                let wait = limit > 0 ? (1 - credit) / limit * 1000 : Double(OutgoingMigration.windowMilliseconds)
                Clock.sleep(milliseconds: UInt64(min(max(wait, 1), Double(OutgoingMigration.windowMilliseconds))))
            }
            let now = Clock.milliseconds()
            if now - windowStart >= OutgoingMigration.windowMilliseconds {
                // Bandwidth in bytes per millisecond over the window just ended: the seed's re-estimate.
                let bytes = UInt64(file.bytesWritten - windowStartBytes)
                let elapsed = max(1, now - windowStart)
                let bandwidth = Double(bytes) / Double(elapsed)
                threshold = UInt64(bandwidth * Double(settings.downtimeLimit))
                let pending = saver.pendingRAMBytes + saver.pendingDiskBytes
                progress.withLock { info in
                    info.ram.mbps = bandwidth * 8 / 1000
                    info.ram.pagesPerSecond = UInt64(Double(bytes) / 4096 * 1000 / Double(elapsed))
                    info.expectedDowntime = bandwidth > 0 ? UInt64(Double(pending) / bandwidth) : 0
                }
                windowStart = now
                windowStartBytes = file.bytesWritten
                lastWindowEnd.store(now, ordering: .relaxed)
            }
            publish(saver)
        }
    }

    /// migration_trigger_throttle: a closed period feeds the rule, and a change reaches the workload at once. QEMU
    /// leaves the guest alone while block migration sends its first whole copy of the disks, when RAM seems to
    /// make no progress only because the disks take the bandwidth.
    private func adjustThrottle(_ throttle: inout AutoConverge, _ closed: SyncPeriod.Closed, _ saver: SaveVMWriter) {
        if let block = saver.block, !block.bulkCompleted { return }
        let changed = throttle.period(
            dirtyBytes: closed.dirtyPages &* UInt64(GuestRAM.pageSize), transferredBytes: closed.transferredBytes,
            parameters: settings.throttle)
        guard changed else { return }
        let percent = throttle.percentage
        machine.workload?.setThrottle(percent: percent)
        progress.withLock { $0.cpuThrottlePercentage = UInt64(percent) }
    }

    /// Stops the guest, then sends what is left and the device state; `runState` is what the guest was doing,
    /// which the destination's globalstate receives.
    private func stopAndCopy(_ saver: SaveVMWriter, _ file: QEMUFileWriter, runState: RunState) throws(MigrationError) {
        // What went out while the guest ran is precopy: counted before it stops (ram_transferred_add).
        publish(saver)
        let stopStart = Clock.milliseconds()
        machine.setRunState(.finishMigrate)
        try saver.complete(file, runState: runState.rawValue)
        let downtime = Clock.milliseconds() - stopStart
        publish(saver)
        progress.withLock { info in info.downtime = downtime }
    }

    /// Copies the writer's counters into the snapshot that `info` returns.
    private func publish(_ saver: SaveVMWriter) {
        let statistics = saver.statistics
        let pendingRAM = saver.pendingRAMBytes
        let pendingDisk = saver.pendingDiskBytes
        // ram_transferred_add: RAM bytes sent while the guest runs are precopy bytes, the rest (a paused guest,
        // the stop-and-copy) downtime bytes. Judged once per publish, every 100 ms window.
        let running = machine.runState.isRunning
        let passes = progress.withLock { info -> (UInt64, UInt64) in
            defer { info.ram.dirtySyncCount = statistics.dirtySyncCount }
            let sent = statistics.ramTransferredBytes - min(statistics.ramTransferredBytes, info.ram.transferred)
            if running { info.ram.precopyBytes += sent } else { info.ram.downtimeBytes += sent }
            info.ram.transferred = statistics.ramTransferredBytes
            info.ram.remaining = pendingRAM
            info.ram.duplicate = statistics.duplicatePages
            info.ram.normal = statistics.normalPages
            info.ram.normalBytes = statistics.normalBytes
            if info.disk != nil {
                info.disk = MigrationInfo.DiskStatistics(
                    transferred: statistics.diskTransferredBytes, remaining: pendingDisk, total: statistics.diskTotalBytes)
            }
            return (info.ram.dirtySyncCount, statistics.dirtySyncCount)
        }
        // Syncs are published every window: each pass begun since the last gets its event.
        if let observer, passes.1 > passes.0 {
            for pass in passes.0 + 1...passes.1 { observer(.pass(pass)) }
        }
    }

    /// `bytesSent`, the whole stream of a completed migration, gives its throughput over the time after setup, as
    /// QEMU's migration_calculate_complete.
    private func finish(_ status: MigrationStatus, error: MigrationError?, bytesSent: UInt64 = 0) {
        let end = Clock.milliseconds()
        // migration_iteration_finish: whatever the end, the guest runs at full speed again.
        if autoConverge { machine.workload?.setThrottle(percent: 0) }
        let final = progress.withLock { info in
            info.cpuThrottlePercentage = nil
            info.status = status
            info.errorDescription = error?.message
            info.totalTime = end - startTime
            if status == .completed {
                info.ram.remaining = 0
                let transferTime = info.totalTime - min(info.totalTime, info.setupTime)
                if transferTime > 0 { info.ram.mbps = Double(bytesSent) * 8 / Double(transferTime) / 1000 }
            }
            return info
        }
        observer?(.status(status))
        onFinish(final)
    }
}
