import Machine
import Migration
import Glibc
import MigrationModel
import Platform
import Synchronization

/// The built-in machine and its migration settings. Commands from every monitor run one at a time
/// (`CommandDispatcher` holds its lock); the settings are MigrationState's, which guards them itself.
final class LocalBackend: MonitorBackend, Sendable {
    let machine: Machine
    let migration: MigrationState
    /// Ends hmp with a status (a failed incoming migration, as QEMU exits 1).
    private let endApplication: @Sendable (Int32) -> Void
    /// Descriptors that `getfd` named, for `migrate fd:NAME` (which takes and owns the one it uses).
    private let namedDescriptors = Mutex<[String: Int32]>([:])
    private let events: BackendEventRelay
    /// Whether the guest ran at the last change, so that STOP and RESUME are sent for real transitions only.
    private let wasRunning: Mutex<Bool>

    var needsCommandLock: Bool { true }

    init(machine: Machine, loop: EventLoop, endApplication: @escaping @Sendable (Int32) -> Void) {
        self.machine = machine
        self.endApplication = endApplication
        migration = MigrationState(incomingURI: machine.configuration.incoming)
        events = BackendEventRelay(loop: loop)
        wasRunning = Mutex(machine.runState.isRunning)
        // Each change is recorded on the thread that made it, with its moment: STOP on a source and RESUME on its
        // destination bound the guest's real downtime.
        machine.observeRunState { [weak self] state in self?.runStateChanged(to: state) }
        migration.observeEvents { [events] event in
            switch event {
            case .status(let status):
                events.record("MIGRATION", ["status": .string(status.rawValue)], needsEventsCapability: true)
            case .pass(let pass):
                events.record("MIGRATION_PASS", ["pass": .uint(pass)], needsEventsCapability: true)
            }
        }
    }

    private func runStateChanged(to state: RunState) {
        let changed = wasRunning.withLock { was in
            defer { was = state.isRunning }
            return was != state.isRunning
        }
        if changed { events.record(state.isRunning ? "RESUME" : "STOP") }
    }

    func observeEvents(_ observer: @escaping (BackendEvent) -> Void) {
        events.observe(observer)
    }

    func deliverEvents() {
        events.deliver()
    }

    var name: String? { machine.name }

    var runState: RunState { machine.runState }

    func stop() {
        machine.stop()
    }

    func cont() throws(BackendError) {
        try BackendError.describing { try machine.start() }
    }

    /// The built-in drives have no removable devices; nodes are numbered from #block101 as QEMU's first ones.
    var blockDevices: [BlockDevice] {
        machine.drives.enumerated().map { index, drive in
            var device = BlockDevice(
                id: drive.id, nodeName: "#block\(101 + index)", path: drive.path, format: drive.format,
                readOnly: drive.readOnly)
            // The image file as it is now, as QEMU measures it for each query-block.
            var status = stat()
            if stat(drive.path, &status) == 0 {
                device.virtualSize = Int64(status.st_size)
                device.actualSize = Int64(status.st_blocks) * 512
            }
            return device
        }
    }

    func pmemsave(address: UInt64, size: UInt64, path: String) throws(BackendError) {
        try BackendError.describing { try machine.pmemsave(address: address, size: size, path: path) }
    }

    var migrationInfo: MigrationInfo { migration.info }

    /// The engine has no detach of its own: the monitor decides whether anyone waits.
    func migrate(
        uri: String, blk: Bool, inc: Bool, resume: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle {
        // QEMU's first check: the built-in machine has no postcopy, so nothing is ever paused to resume.
        if resume { throw BackendError("Cannot resume if there is no paused migration") }
        do throws(MigrationError) {
            return try migration.migrate(
                uri: uri, blk: blk, inc: inc, machine: machine,
                descriptors: { [weak self] in self?.takeDescriptor(named: $0) }, onFinish: onFinish)
        } catch {
            throw BackendError(error.message)
        }
    }

    func cancelMigration() {
        migration.cancel()
    }

    /// How long an ending hmp waits for a cancelled outgoing migration to let go of its stream.
    static let cancelGraceMilliseconds: UInt64 = 2000

    /// An outgoing migration must not outlive hmp half-sent, nor hold up its exit: cancels it, so that the
    /// destination sees the stream fail, and gives its thread a moment to close the stream.
    func finishOutgoingMigration() {
        migration.cancel()
        let deadline = Clock.milliseconds() + Self.cancelGraceMilliseconds
        while migration.info.status.isRunning && Clock.milliseconds() < deadline {
            Clock.sleep(milliseconds: 10)
        }
    }

    /// qmp_migrate_continue: the engine never pauses (no pause-before-switchover), so only the state it is in
    /// matches, and continuing it changes nothing.
    func continueMigration(state: String) throws(BackendError) {
        let wanted = MigrationStatus(name: state)
        if case .other = wanted { throw BackendError("invalid parameter value: \(state)") }
        let current = migration.info.status
        guard current == wanted else { throw BackendError("Migration not in expected state: \(current.rawValue)") }
    }

    /// Listens for the incoming migration. Its progress lines go to stdout as QEMU's do; a failed load is
    /// reported on stderr and ends hmp with status 1, as QEMU exits, and the guest never runs.
    func startIncoming(uri: String) throws(BackendError) {
        do throws(MigrationError) {
            try migration.startIncoming(
                uri: uri, machine: machine, descriptors: { [weak self] in self?.takeDescriptor(named: $0) },
                report: { line in
                    let ending = line.hasPrefix("Completed") && !line.hasPrefix("Completed 100 %") ? "\r" : "\n"
                    try? FileIO.writeAll(1, line + ending)
                },
                onFinish: { [endApplication] error in
                    guard let error else { return }
                    for line in error.context + [error.message] { FileIO.reportError(line) }
                    FileIO.reportError("load of migration failed: \(error.message)")
                    endApplication(1)
                })
        } catch {
            throw BackendError(error.message)
        }
    }

    var migrationParameters: MigrationParameters { migration.parameters }

    func setMigrationParameter(name: String, value: String) throws(BackendError) {
        try updateParameters { parameters throws(MigrationSettingError) in
            try parameters.set(name: name, value: value)
        }
    }

    /// A change of the parameters, refused in QEMU's words.
    private func updateParameters(
        _ body: (inout MigrationParameters) throws(MigrationSettingError) -> Void
    ) throws(BackendError) {
        try BackendError.describing { try migration.updateParameters(body) }
    }

    func setMigrationParameters(_ parameters: MigrationParameters) throws(BackendError) {
        migration.updateParameters { $0 = parameters }
    }

    func setMigrationSpeed(bytes: UInt64) {
        migration.updateParameters { $0.setSpeed(bytes: bytes) }
    }

    func setMigrationDowntime(seconds: Double) throws(BackendError) {
        try updateParameters { parameters throws(MigrationSettingError) in
            try parameters.setDowntime(seconds: seconds)
        }
    }

    var migrationCapabilities: MigrationCapabilities { migration.capabilities }
    var migrationParameterNames: [String] { MigrationParameters.names }
    var migrationCapabilityNames: [String] { MigrationCapabilities.names }

    func setMigrationCapability(name: String, on: Bool) throws(BackendError) {
        try BackendError.describing { try migration.setCapability(name: name, on: on) }
    }

    func name(descriptor: Int32, as name: String) {
        let previous = namedDescriptors.withLock { $0.updateValue(descriptor, forKey: name) }
        if let previous { close(previous) }
    }

    func closeDescriptor(named name: String) throws(BackendError) {
        guard let descriptor = takeDescriptor(named: name) else {
            throw BackendError("File descriptor named '\(name)' not found")
        }
        close(descriptor)
    }

    private func takeDescriptor(named name: String) -> Int32? {
        namedDescriptors.withLock { $0.removeValue(forKey: name) }
    }

    /// Nothing to do here: the application shuts the machine down once every monitor has stopped reading.
    func quit() {}

    /// The built-in machine has no monitor of its own: the table runs every line.
    func humanMonitorCommand(_ line: String) -> String? { nil }

    var otherCommands: (commands: [String], infoItems: [String]) { ([], []) }
}
