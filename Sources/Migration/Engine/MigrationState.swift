public import Machine
public import MigrationModel
import Synchronization

/// The machine's migration state, as the seed's MigrationState: parameters and capabilities that outlive each run,
/// the outgoing migration (at most one running), and the incoming side.
public final class MigrationState: Sendable {
    private struct Settings {
        var parameters = MigrationParameters()
        var capabilities = MigrationCapabilities()
    }

    /// Set by commands, read by them, by each migrate and by QMP's event filter: guarded here, not by a caller's lock.
    private let settings = Mutex(Settings())

    public var parameters: MigrationParameters { settings.withLock { $0.parameters } }
    public var capabilities: MigrationCapabilities { settings.withLock { $0.capabilities } }

    /// Changes the parameters in one step (nothing changes when `body` throws); a running migration takes the new
    /// values at its next window.
    public func updateParameters<E: Error>(_ body: (inout MigrationParameters) throws(E) -> Void) throws(E) {
        try settings.withLock { settings throws(E) in
            var parameters = settings.parameters
            try body(&parameters)
            settings.parameters = parameters
            live.update(from: parameters)
        }
    }

    /// `-incoming` as given at start-up; `defer` waits for migrate_incoming.
    public let incomingURI: String?
    private let live: LiveSettings
    private let outgoing = Mutex<OutgoingMigration?>(nil)
    private let observers = Mutex<[MigrationEventObserver]>([])

    /// Who hear of each outgoing migration's changes, on its thread (hmp's QMP server, the demo's destination);
    /// added before the first migrate.
    public func observeEvents(_ observer: @escaping MigrationEventObserver) {
        observers.withLock { $0.append(observer) }
    }

    /// Every observer at once, or nil when there is none.
    private var observer: MigrationEventObserver? {
        let all = observers.withLock { $0 }
        guard !all.isEmpty else { return nil }
        return { @Sendable (event: MigrationEvent) -> Void in
            for observer in all { observer(event) }
        }
    }
    private let incoming = Mutex<IncomingMigration?>(nil)
    /// A migrate that failed before its thread started (a URI QEMU cannot use): `failed`, as QEMU leaves it.
    private let failedAtStart = Mutex<MigrationInfo?>(nil)

    public init(incomingURI: String?) {
        self.incomingURI = incomingURI
        live = LiveSettings(MigrationParameters())
    }

    /// `migrate_set_capability`, as qmp_migrate_set_capabilities: refused while a migration runs, then (hmp's own
    /// rule) refused for a capability the engine would ignore, then checked as QEMU checks the set.
    public func setCapability(name: String, on: Bool) throws(MigrationSettingError) {
        guard MigrationCapabilities.names.contains(name) else { throw .invalidValue(name) }
        if outgoing.withLock({ $0?.info.status.isRunning ?? false }) {
            throw MigrationSettingError("There's a migration process in progress")
        }
        if on, !MigrationCapabilities.implemented.contains(name) {
            throw MigrationSettingError("capability '\(name)' is not supported by hmp's built-in machine")
        }
        try settings.withLock { settings throws(MigrationSettingError) in
            try settings.capabilities.set(name: name, on: on, parameters: settings.parameters)
        }
    }

    /// qmp_migrate: refuses while one runs or while a device blocks migration, then starts the thread.
    public func migrate(
        uri text: String, blk: Bool, inc: Bool, machine: Machine,
        descriptors: @escaping @Sendable (String) -> Int32? = { _ in nil },
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(MigrationError) -> OutgoingMigration {
        if outgoing.withLock({ $0?.info.status.isRunning ?? false }) {
            throw MigrationError("There's a migration process in progress")
        }
        if machine.runState == .inmigrate { throw MigrationError("Guest is waiting for an incoming migration") }
        let (parameters, capabilities) = settings.withLock { ($0.parameters, $0.capabilities) }
        if let blocker = machine.migrationBlockers.first { throw MigrationError(blocker) }
        if (blk || inc) && (capabilities["block"] || parameters.blockIncremental) {
            throw MigrationError("Command options are incompatible with current migration capabilities")
        }
        // Past these checks QEMU's migration is in setup: a URI it cannot use fails it there and then (failed,
        // with error-desc unless the scheme itself is unknown), and a getfd name is looked up at once.
        let uri: MigrationURI
        var descriptors = descriptors
        do throws(MigrationError) {
            uri = try MigrationURI(parsing: text)
            if case .fd(let name) = uri {
                guard let fd = descriptors(name) else {
                    throw MigrationError("File descriptor named '\(name)' has not been found")
                }
                let slot = DescriptorSlot(fd)
                descriptors = { _ in slot.take() }
            }
        } catch {
            var failed = MigrationInfo()
            failed.status = .failed
            if error.message != MigrationURI.unknownProtocol { failed.errorDescription = error.message }
            outgoing.withLock { $0 = nil }
            failedAtStart.withLock { $0 = failed }
            let observer = self.observer
            observer?(.status(.setup))
            observer?(.status(.failed))
            throw error
        }
        failedAtStart.withLock { $0 = nil }
        let blockMode: BlockMigrationMode
        if inc || (capabilities["block"] && parameters.blockIncremental) {
            blockMode = .incremental
        } else if blk || capabilities["block"] {
            blockMode = .full
        } else {
            blockMode = .none
        }
        let migration = OutgoingMigration(
            uri: uri, blockMode: blockMode, machine: machine, settings: live,
            autoConverge: capabilities["auto-converge"], descriptors: descriptors,
            observer: observer, onFinish: onFinish)
        outgoing.withLock { $0 = migration }
        migration.start()
        return migration
    }

    /// migrate_cancel: silent, and a no-op when nothing runs, as QEMU's.
    public func cancel() {
        outgoing.withLock { $0 }?.cancel()
    }

    /// query-migrate's state: the current or last outgoing migration's, else the incoming one's, as QEMU's
    /// source figures replace its destination's once the machine has migrated out.
    public var info: MigrationInfo {
        if let outgoing = outgoing.withLock({ $0 }) { return outgoing.info }
        if let failed = failedAtStart.withLock({ $0 }) { return failed }
        return incoming.withLock { $0 }?.info ?? MigrationInfo()
    }

    /// Starts listening for the incoming migration: at start-up for `-incoming URI`, or for migrate_incoming after
    /// `-incoming defer`.
    public func startIncoming(
        uri text: String, machine: Machine, descriptors: (String) -> Int32? = { _ in nil },
        report: @escaping @Sendable (String) -> Void,
        onFinish: @escaping @Sendable (MigrationError?) -> Void
    ) throws(MigrationError) {
        guard incomingURI != nil else { throw MigrationError("'-incoming' was not specified on the command line") }
        guard incoming.withLock({ $0 == nil }) else {
            throw MigrationError("The incoming migration has already been started")
        }
        let uri = try MigrationURI(parsing: text, incoming: true)
        // The observer is read at each change: -incoming listens before the QMP server asks to hear of them.
        let migration = try IncomingMigration(
            uri: uri, machine: machine, descriptors: descriptors, report: report,
            notify: { [weak self] event in self?.observer?(event) }, onFinish: onFinish)
        incoming.withLock { $0 = migration }
        migration.start()
    }
}

/// A descriptor handed over once: `fd:NAME` is looked up when migrate is called, and the channel takes it later.
private final class DescriptorSlot: Sendable {
    private let fd: Atomic<Int32>

    init(_ fd: Int32) { self.fd = Atomic(fd) }

    func take() -> Int32? {
        let taken = fd.exchange(-1, ordering: .sequentiallyConsistent)
        return taken >= 0 ? taken : nil
    }
}
