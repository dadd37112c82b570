import Glibc
public import MigrationModel
import Platform
import Synchronization

/// The built-in virtual machine: guest RAM, drives, a workload that dirties them while the guest runs, and the run
/// state. `state` is the one machine lock (the seed's iothread lock); RAM and disk contents and their dirty bitmaps
/// are outside it, so the workload and the migration thread never wait for each other per page.
public final class Machine: Sendable {
    public let configuration: MachineConfiguration
    public let ram: GuestRAM
    public let drives: [Drive]
    public let workload: Workload?
    private let state: Mutex<MachineState>
    private let runStateObservers = Mutex<[@Sendable (RunState) -> Void]>([])

    /// Checks the whole configuration before opening anything, then opens the drives and maps RAM. Nothing outside
    /// this process changes: drives are opened, not created, and a -mem-path file is only read.
    public init(configuration: MachineConfiguration) throws(MachineError) {
        guard configuration.ramSize > 0 else { throw .invalidRAMSize(text: "0") }
        var ids: Set<String> = []
        for drive in configuration.drives {
            guard drive.format == "raw" else { throw .unsupportedDriveFormat(format: drive.format) }
            guard ids.insert(drive.id).inserted else { throw .duplicateDriveID(id: drive.id) }
        }
        var drives: [Drive] = []
        for drive in configuration.drives { drives.append(try Drive(configuration: drive)) }
        let ram = try GuestRAM(
            size: configuration.ramSize, memPath: configuration.memPath, prealloc: configuration.prealloc)

        let initial: RunState
        if configuration.incoming != nil {
            initial = .inmigrate
        } else {
            initial = configuration.startPaused ? .prelaunch : .running
        }
        self.configuration = configuration
        self.ram = ram
        self.drives = drives
        self.state = Mutex(MachineState(runState: initial, autostart: !configuration.startPaused))
        if let rates = configuration.workload {
            workload = Workload(rates: rates, ram: ram, drives: drives, mode: initial == .running ? .running : .paused)
        } else {
            workload = nil
        }
    }

    deinit {
        workload?.stop()
    }

    public var name: String? { configuration.name }

    public var runState: RunState { state.withLock { $0.runState } }

    /// `observer` is told each new run state as the change is made, under the machine lock, so that what it
    /// records has the moment of the change (QMP's STOP and RESUME carry it). It must be quick and must not call
    /// the machine.
    public func observeRunState(_ observer: @escaping @Sendable (RunState) -> Void) {
        runStateObservers.withLock { $0.append(observer) }
    }

    public var migrationBlockers: [String] { state.withLock { $0.migrationBlockers } }

    public func addMigrationBlocker(_ reason: String) {
        state.withLock { $0.migrationBlockers.append(reason) }
    }

    public func removeMigrationBlocker(_ reason: String) {
        state.withLock { s in
            if let i = s.migrationBlockers.firstIndex(of: reason) { s.migrationBlockers.remove(at: i) }
        }
    }

    /// Runs `body` under the machine lock, for the migration engine's savevm calls and state changes. The lock is
    /// not recursive: do not call the machine's other methods from inside `body`.
    public func withLock<R: Sendable, E: Error>(_ body: (inout MachineState) throws(E) -> R) throws(E) -> R {
        try state.withLock { (s: inout MachineState) throws(E) -> R in
            let before = s.runState
            let result = try body(&s)
            if s.runState != before { changed(to: s.runState) }
            return result
        }
    }

    /// `cont`, as QEMU's qmp_cont: starts the guest; during `inmigrate` it only asks for the guest to start once the
    /// migration is in.
    public func start() throws(MachineError) {
        try state.withLock { (s: inout MachineState) throws(MachineError) in
            switch s.runState {
            case .running:
                return
            case .inmigrate:
                s.autostart = true
            case .finishMigrate:
                throw .cannotContinue(reason: "Migration is not finalized yet")
            case .shutdown:
                throw .cannotContinue(reason: "the machine has shut down: quit and start a new one")
            case .internalError, .guestPanicked:
                throw .cannotContinue(reason: "Resetting the Virtual Machine is required")
            case .paused, .prelaunch, .postmigrate, .debug, .ioError, .restoreVM, .saveVM, .suspended, .watchdog, .colo:
                s.runState = .running
                changed(to: .running)
            }
        }
    }

    /// `stop`, as QEMU's qmp_stop: pauses a running guest and returns once the workload has stopped writing. A
    /// guest that is not running keeps its state (prelaunch stays prelaunch); during `inmigrate` it only cancels
    /// the start after the migration.
    public func stop() {
        state.withLock { s in
            switch s.runState {
            case .running:
                s.runState = .paused
                changed(to: .paused)
            case .inmigrate:
                s.autostart = false
            default:
                break
            }
        }
    }

    /// Sets a run state directly, for the migration engine (finish-migrate, postmigrate, …).
    public func setRunState(_ newState: RunState) {
        state.withLock { s in
            let before = s.runState
            s.runState = newState
            applyWorkload(newState)
            if newState != before { notify(newState) }
        }
    }

    /// Stops the workload for good; the guest cannot run again.
    public func shutdown() {
        state.withLock { s in
            guard s.runState != .shutdown else { return }
            s.runState = .shutdown
            notify(.shutdown)
        }
        workload?.stop()
    }

    /// Under the machine lock, once the state changed.
    private func changed(to runState: RunState) {
        applyWorkload(runState)
        notify(runState)
    }

    private func notify(_ runState: RunState) {
        for observer in runStateObservers.withLock({ $0 }) { observer(runState) }
    }

    private func applyWorkload(_ runState: RunState) {
        guard let workload else { return }
        switch runState {
        case .running: workload.resume()
        case .shutdown: break  // stopped outside the lock by shutdown(), which joins the thread
        default: workload.pause()
        }
    }

    /// `pmemsave`: writes guest-physical RAM [address, address+size) to `path`, created or truncated. Unlike QEMU,
    /// which reads unassigned memory as zeros, a range outside RAM is refused before the file is touched.
    public func pmemsave(address: UInt64, size: UInt64, path: String) throws(MachineError) {
        let (end, overflow) = address.addingReportingOverflow(size)
        guard !overflow, end <= ram.size else {
            throw .ramAccessOutOfRange(address: address, size: size, ramSize: ram.size)
        }
        let fd = try Machine.createPrivate(path)
        ram.faultIn(address: address, count: Int(size))
        var failure: Int32 = 0
        ram.withUnsafeBytes { all in
            do throws(SystemError) {
                try Descriptor.writeAll(fd, UnsafeRawBufferPointer(rebasing: all[Int(address)..<Int(end)]))
            } catch {
                failure = error.errno.rawValue
            }
        }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure != 0 { throw .cannotWriteFile(path: path, errno: failure) }
    }

    /// Opens `path` for writing, truncated. A file it creates is 0600 whatever the umask, since it holds guest
    /// memory; an existing regular file keeps its owner and mode, as with QEMU's fopen. Both opens carry O_CREAT,
    /// so the kernel's fs.protected_regular and fs.protected_fifos police a file planted in a shared sticky
    /// directory, and O_NONBLOCK, so that a FIFO cannot hold the monitor; anything but a regular file is refused,
    /// and so is one that another user owns in a shared sticky directory (as protected_regular would, were it on).
    private static func createPrivate(_ path: String) throws(MachineError) -> Int32 {
        switch retryingInterrupts({ open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0o600) }) {
        case .success(let fd):
            // The umask can only take bits away; fchmod also puts back any it took from 0600.
            _ = fchmod(fd, 0o600)
            return fd
        case .failure(.fileExists):
            break
        case .failure(let error):
            throw .cannotWriteFile(path: path, errno: error.rawValue)
        }
        let fd: Int32
        switch retryingInterrupts({ open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0o600) }) {
        case .success(let opened): fd = opened
        case .failure(let error) where error.rawValue == ENXIO:
            // A FIFO nobody reads: a blocking open would have waited for a reader for ever.
            throw .notARegularFile(path: path, kind: "a FIFO")
        case .failure(let error):
            throw .cannotWriteFile(path: path, errno: error.rawValue)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .cannotWriteFile(path: path, errno: code)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw .notARegularFile(path: path, kind: fileKind(info.st_mode))
        }
        if info.st_uid != geteuid(), let directoryOwner = sharedStickyDirectoryOwner(of: path),
            directoryOwner != info.st_uid
        {
            Glibc.close(fd)
            throw .plantedFile(path: path, owner: info.st_uid)
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        guard case .success = retryingInterrupts({ ftruncate(fd, 0) }) else {
            let code = errno
            Glibc.close(fd)
            throw .cannotWriteFile(path: path, errno: code)
        }
        return fd
    }

    /// The owner of `path`'s directory when it is sticky and writable by others (such as /tmp), else nil.
    private static func sharedStickyDirectoryOwner(of path: String) -> uid_t? {
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_ISVTX != 0, info.st_mode & (S_IWOTH | S_IWGRP) != 0 else {
            return nil
        }
        return info.st_uid
    }

    private static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFDIR: "a directory"
        default: "of another kind"
        }
    }
}
