import Glibc
public import MigrationModel
import Platform
public import Machine
import Synchronization

/// The destination side: listen on the `-incoming` URI, take one connection, load the stream into the machine,
/// and only then let the guest run (or stay paused with -S, or in the state the source's guest was in).
public final class IncomingMigration: Sendable {
    // Set in init; the listener is used by the loading thread only, and closed through the mutex.
    public let uri: MigrationURI
    private let machine: Machine
    private let listener: Mutex<MigrationListener?>
    /// Lines the destination prints as QEMU's does: `Receiving block device images`, `Completed N %`.
    private let report: @Sendable (String) -> Void
    /// Called once with nil on success, or with the error that stopped the load.
    private let onFinish: @Sendable (MigrationError?) -> Void
    /// Told of each status change, as QEMU's destination emits MIGRATION: setup on listening, then active on
    /// accepting, then completed or failed.
    private let notify: MigrationEventObserver
    private let progress: Mutex<MigrationInfo>

    /// Starts listening at once, so that a bad URI or a port in use fails the command that asked.
    public init(
        uri: MigrationURI, machine: Machine, descriptors: (String) -> Int32? = { _ in nil },
        report: @escaping @Sendable (String) -> Void,
        notify: @escaping MigrationEventObserver = { _ in },
        onFinish: @escaping @Sendable (MigrationError?) -> Void
    ) throws(MigrationError) {
        self.uri = uri
        self.machine = machine
        self.report = report
        self.notify = notify
        self.onFinish = onFinish
        let listening = try Transport.listen(uri, fds: descriptors)
        listener = Mutex(listening)
        // As fill_destination_migration_info: no status while waiting (QEMU's incoming state is still none), the
        // addresses listened on, and none of the source's figures at any stage.
        var info = MigrationInfo()
        info.socketAddresses = listening.socketAddresses
        info.presence = MigrationInfo.Presence(expectedDowntime: false, setupTime: false, ram: false)
        progress = Mutex(info)
        notify(.status(.setup))
    }

    /// What the destination's query-migrate shows.
    public var info: MigrationInfo { progress.withLock { $0 } }

    private func enter(_ status: MigrationStatus, error: MigrationError? = nil) {
        progress.withLock { info in
            info.status = status
            info.errorDescription = error?.message
            // The addresses go with the listener once the stream has loaded (migration_incoming_state_destroy).
            if status == .completed { info.socketAddresses = [] }
        }
        notify(.status(status))
    }

    public func start() {
        if case .failure(let error) = PlatformThread.detach({ [self] in run() }) {
            onFinish(MigrationError("\(error)"))
        }
    }

    private func run() {
        do throws(MigrationError) {
            guard let listening = listener.withLock({ $0 }) else { return }
            let channel = try listening.accept(isCancelled: { false })
            listener.withLock { $0?.close(); $0 = nil }
            enter(.active)
            defer { channel.close() }
            let file = QEMUFileReader(fileDescriptor: channel.readDescriptor)
            let loader = SaveVMLoader(machine: machine)
            let sourceState = try loader.load(file, progress: report)
            finishLoad(sourceState: sourceState)
            enter(.completed)
            onFinish(nil)
        } catch {
            listener.withLock { $0?.close(); $0 = nil }
            enter(.failed, error: error)
            onFinish(error)
        }
    }

    /// As QEMU's process_incoming_migration_bh: the source's state decides, and -S holds a running guest paused.
    private func finishLoad(sourceState: String?) {
        let autostart = machine.withLock { $0.autostart }
        switch sourceState.flatMap(RunState.init(rawValue:)) ?? .running {
        case .running, .finishMigrate: machine.setRunState(autostart ? .running : .paused)
        case .prelaunch: machine.setRunState(.prelaunch)
        default: machine.setRunState(.paused)
        }
    }
}
