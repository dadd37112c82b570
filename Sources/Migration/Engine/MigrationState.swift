public import Machine
import Synchronization

/// The machine's migration state, as the seed's MigrationState: parameters and capabilities that outlive each run,
/// the outgoing migration (at most one running), and the incoming side.
public final class MigrationState: @unchecked Sendable {
    // `parameters`, `capabilities` and `incomingURI` change only under the monitor's command lock; the running
    // migrations are behind their own mutexes because migration threads finish them.
    public var parameters = MigrationParameters() {
        didSet { live.update(from: parameters) }
    }
    public var capabilities = MigrationCapabilities()
    /// `-incoming` as given at start-up; `defer` waits for migrate_incoming.
    public let incomingURI: String?
    private let live: LiveSettings
    private let outgoing = Mutex<OutgoingMigration?>(nil)
    private let observer = Mutex<MigrationEventObserver?>(nil)

    /// Who hears of each outgoing migration's changes (hmp's QMP server); set before the first migrate.
    public func observeEvents(_ observer: @escaping MigrationEventObserver) {
        self.observer.withLock { $0 = observer }
    }
    private let incoming = Mutex<IncomingMigration?>(nil)

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
        try capabilities.set(name: name, on: on, parameters: parameters)
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
        if let blocker = machine.migrationBlockers.first { throw MigrationError(blocker) }
        if (blk || inc) && (capabilities["block"] || parameters.blockIncremental) {
            throw MigrationError("Command options are incompatible with current migration capabilities")
        }
        let uri = try MigrationURI(parsing: text)
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
            observer: observer.withLock { $0 }, onFinish: onFinish)
        outgoing.withLock { $0 = migration }
        migration.start()
        return migration
    }

    /// migrate_cancel: silent, and a no-op when nothing runs, as QEMU's.
    public func cancel() {
        outgoing.withLock { $0 }?.cancel()
    }

    /// The current or last outgoing migration's state.
    public var info: MigrationInfo {
        outgoing.withLock { $0 }?.info ?? MigrationInfo()
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
        let migration = try IncomingMigration(
            uri: uri, machine: machine, descriptors: descriptors, report: report, onFinish: onFinish)
        incoming.withLock { $0 = migration }
        migration.start()
    }
}
