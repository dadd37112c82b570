import MigrationModel
import QMP

/// The machine a monitor drives, as values: the handlers ask it for run state, drives and migration figures and
/// render them with `HMPFormat`, so that the built-in machine (`LocalBackend`) and a real QEMU reached over QMP
/// print the same text. For the built-in machine calls come one at a time, under `CommandDispatcher`'s lock,
/// except `cancelMigration` and `migrationInfo`, which signals and the waiting monitor may use at any moment. A
/// backend that drives a QEMU is called on the event loop's thread only, and runs the loop while QEMU answers.
protocol MonitorBackend: AnyObject, Sendable {
    /// True when commands must run one at a time under the dispatcher's lock (the built-in machine, as QEMU's big
    /// lock). A QEMU serialises its own commands, and its backend lets the loop serve other monitors while it
    /// waits, so it needs none.
    var needsCommandLock: Bool { get }
    /// `-name`, nil when it was not given.
    var name: String? { get }
    var runState: RunState { get }
    func stop() throws(BackendError)
    func cont() throws(BackendError)
    /// What `info block` shows, in the order QEMU lists the drives.
    var blockDevices: [BlockDevice] { get }
    /// Writes `size` bytes of guest-physical memory from `address` into the file at `path`.
    func pmemsave(address: UInt64, size: UInt64, path: String) throws(BackendError)

    /// The current or last outgoing migration; `MigrationInfo()` (status none) before the first.
    var migrationInfo: MigrationInfo { get }
    /// qmp_migrate. `onFinish` runs once, on some other thread, when the migration has ended however it ended.
    /// `resume`: continue a paused postcopy migration (QEMU's error where there is none).
    func migrate(
        uri: String, blk: Bool, inc: Bool, resume: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle
    /// migrate_cancel: silent, and nothing happens when no migration runs.
    func cancelMigration()
    /// `migrate_continue STATE`: lets a migration paused in `state` go on.
    func continueMigration(state: String) throws(BackendError)
    /// Listens for the incoming migration (`-incoming URI` at start-up, or `migrate_incoming`).
    func startIncoming(uri: String) throws(BackendError)

    var migrationParameters: MigrationParameters { get }
    /// `migrate_set_parameter NAME VALUE`, refused with QEMU's texts; on error nothing changes.
    func setMigrationParameter(name: String, value: String) throws(BackendError)
    /// migrate-set-parameters: `parameters`, already checked as a whole, replace the machine's in one step.
    func setMigrationParameters(_ parameters: MigrationParameters) throws(BackendError)
    /// `migrate_set_speed`: max-bandwidth in bytes per second.
    func setMigrationSpeed(bytes: UInt64) throws(BackendError)
    /// `migrate_set_downtime`: downtime-limit, given in seconds.
    func setMigrationDowntime(seconds: Double) throws(BackendError)
    var migrationCapabilities: MigrationCapabilities { get }
    /// The parameter and capability names this machine knows, for completion: a QEMU's own, learned at attach.
    var migrationParameterNames: [String] { get }
    var migrationCapabilityNames: [String] { get }
    func setMigrationCapability(name: String, on: Bool) throws(BackendError)

    /// `getfd`: gives `descriptor` a name for `migrate fd:NAME`; a descriptor already holding it is closed.
    /// The backend owns `descriptor` from here, whether or not naming it succeeds.
    func name(descriptor: Int32, as name: String) throws(BackendError)
    /// `closefd`: QEMU's error when no descriptor has that name.
    func closeDescriptor(named name: String) throws(BackendError)

    /// `quit`: the machine is to end. The application leaves once every monitor has stopped.
    func quit()
    /// Runs `line` on the machine's own monitor and returns its output; nil when it has none (the built-in
    /// machine). The dispatcher sends it the lines whose rows say `.qemuMonitor` and those no row names.
    func humanMonitorCommand(_ line: String) -> String?

    /// Calls `observer` on the event loop with each event, in the order they happened. Called on the loop.
    func observeEvents(_ observer: @escaping (BackendEvent) -> Void)
    /// Delivers the events that happened so far, now: a QMP command's events go out before its reply.
    func deliverEvents()
    /// Commands and `info` items the machine's own monitor has beyond hmp's table, for completion.
    var otherCommands: (commands: [String], infoItems: [String]) { get }
}
