import Machine
import Migration
import Glibc
import Synchronization

/// The built-in machine and its migration settings. Commands from every monitor run one at a time
/// (`CommandDispatcher` holds its lock), so the settings need no lock of their own.
final class LocalBackend: MonitorBackend, @unchecked Sendable {
    let machine: Machine
    let migration: MigrationState
    /// Ends hmp with a status (a failed incoming migration, as QEMU exits 1).
    private let endApplication: @Sendable (Int32) -> Void
    /// Descriptors that `getfd` named, for `migrate fd:NAME` (which takes and owns the one it uses).
    private let namedDescriptors = Mutex<[String: Int32]>([:])

    init(machine: Machine, endApplication: @escaping @Sendable (Int32) -> Void) {
        self.machine = machine
        self.endApplication = endApplication
        migration = MigrationState(incomingURI: machine.configuration.incoming)
    }

    var name: String? { machine.name }

    var runState: RunState { machine.runState }

    func stop() {
        machine.stop()
    }

    func cont() throws(BackendError) {
        do {
            try machine.start()
        } catch {
            throw BackendError("\(error)")
        }
    }

    /// The built-in drives have no removable devices; nodes are numbered from #block101 as QEMU's first ones.
    var blockDevices: [BlockDevice] {
        machine.drives.enumerated().map { index, drive in
            BlockDevice(
                id: drive.id, nodeName: "#block\(101 + index)", path: drive.path, format: drive.format,
                readOnly: drive.readOnly)
        }
    }

    func pmemsave(address: UInt64, size: UInt64, path: String) throws(BackendError) {
        do {
            try machine.pmemsave(address: address, size: size, path: path)
        } catch {
            throw BackendError("\(error)")
        }
    }

    var migrationInfo: MigrationInfo { migration.info }

    /// The engine has no detach of its own: the monitor decides whether anyone waits.
    func migrate(
        uri: String, blk: Bool, inc: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle {
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
        do throws(MigrationSettingError) {
            try migration.parameters.set(name: name, value: value)
        } catch {
            throw BackendError("\(error)")
        }
    }

    func setMigrationParameters(qmp settings: [(String, String)]) throws(BackendError) {
        do throws(MigrationSettingError) {
            try migration.parameters.set(qmp: settings)
        } catch {
            throw BackendError("\(error)")
        }
    }

    func setMigrationSpeed(bytes: UInt64) {
        migration.parameters.setSpeed(bytes: bytes)
    }

    func setMigrationDowntime(seconds: Double) throws(BackendError) {
        do throws(MigrationSettingError) {
            try migration.parameters.setDowntime(seconds: seconds)
        } catch {
            throw BackendError("\(error)")
        }
    }

    var migrationCapabilities: MigrationCapabilities { migration.capabilities }

    func setMigrationCapability(name: String, on: Bool) throws(BackendError) {
        do throws(MigrationSettingError) {
            try migration.setCapability(name: name, on: on)
        } catch {
            throw BackendError("\(error)")
        }
    }

    func name(descriptor: Int32, as name: String) {
        let previous = namedDescriptors.withLock { $0.updateValue(descriptor, forKey: name) }
        if let previous { close(previous) }
    }

    func closeDescriptor(named name: String) -> Bool {
        guard let descriptor = takeDescriptor(named: name) else { return false }
        close(descriptor)
        return true
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
