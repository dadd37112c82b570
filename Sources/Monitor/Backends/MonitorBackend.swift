import Machine
import Migration

/// The machine a monitor drives, as values: the handlers ask it for run state, drives and migration figures and
/// render them with `HMPFormat`, so that the built-in machine (`LocalBackend`) and a real QEMU reached over QMP
/// print the same text. Calls come one at a time, under `CommandDispatcher`'s lock, except `cancelMigration`
/// and `migrationInfo`, which signals and the waiting monitor may use at any moment.
protocol MonitorBackend: AnyObject, Sendable {
    /// `-name`, nil when it was not given.
    var name: String? { get }
    var runState: RunState { get }
    func stop()
    func cont() throws(BackendError)
    /// What `info block` shows, in the order QEMU lists the drives.
    var blockDevices: [BlockDevice] { get }
    /// Writes `size` bytes of guest-physical memory from `address` into the file at `path`.
    func pmemsave(address: UInt64, size: UInt64, path: String) throws(BackendError)

    /// The current or last outgoing migration; `MigrationInfo()` (status none) before the first.
    var migrationInfo: MigrationInfo { get }
    /// qmp_migrate. `onFinish` runs once, on some other thread, when the migration has ended however it ended.
    func migrate(
        uri: String, blk: Bool, inc: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle
    /// migrate_cancel: silent, and nothing happens when no migration runs.
    func cancelMigration()
    /// Listens for the incoming migration (`-incoming URI` at start-up, or `migrate_incoming`).
    func startIncoming(uri: String) throws(BackendError)

    var migrationParameters: MigrationParameters { get }
    /// `migrate_set_parameter NAME VALUE`, refused with QEMU's texts; on error nothing changes.
    func setMigrationParameter(name: String, value: String) throws(BackendError)
    /// `migrate_set_speed`: max-bandwidth in bytes per second.
    func setMigrationSpeed(bytes: UInt64)
    /// migrate-set-parameters: `migrate_set_parameter`'s values (max-bandwidth in bytes), all or none.
    func setMigrationParameters(qmp settings: [(String, String)]) throws(BackendError)
    /// `migrate_set_downtime`: downtime-limit, given in seconds.
    func setMigrationDowntime(seconds: Double) throws(BackendError)
    var migrationCapabilities: MigrationCapabilities { get }
    func setMigrationCapability(name: String, on: Bool) throws(BackendError)

    /// `getfd`: gives `descriptor` a name for `migrate fd:NAME`; a descriptor already holding it is closed.
    func name(descriptor: Int32, as name: String)
    /// `closefd`: false when no descriptor has that name.
    func closeDescriptor(named name: String) -> Bool

    /// `quit`: the machine is to end. The application leaves once every monitor has stopped.
    func quit()
    /// A line the backend runs itself, returning its output, instead of the monitor's table: nil when the
    /// monitor is to parse and run it. A QMP backend passes what it cannot map through human-monitor-command.
    func humanMonitorCommand(_ line: String) -> String?
    /// Commands and `info` items the machine's own monitor has beyond hmp's table, for completion.
    var otherCommands: (commands: [String], infoItems: [String]) { get }
}

extension MonitorBackend {
    /// One at a time, for a backend whose machine checks each change itself (a QEMU behind QMP).
    func setMigrationParameters(qmp settings: [(String, String)]) throws(BackendError) {
        for (name, value) in settings {
            if name == "max-bandwidth", let bytes = UInt64(value) {
                setMigrationSpeed(bytes: bytes)
            } else {
                try setMigrationParameter(name: name, value: value)
            }
        }
    }
}
