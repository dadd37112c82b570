import Machine
import Migration
@testable import Monitor

/// A backend standing for a QEMU with a monitor of its own: it records every call, answers lines sent to its
/// monitor with `QEMU ran: LINE`, and has no machine behind it. For the dispatcher's tests, which check who runs
/// what without a QEMU.
final class FakeAttachedBackend: MonitorBackend, @unchecked Sendable {
    /// Each call, in order: `monitor LINE` for a line sent to the QEMU's own monitor, else the member's name.
    private(set) var calls: [String] = []

    var needsCommandLock: Bool { false }
    var name: String? { nil }
    var runState: RunState {
        calls.append("runState")
        return .running
    }
    func stop() throws(BackendError) { calls.append("stop") }
    func cont() throws(BackendError) { calls.append("cont") }
    var blockDevices: [BlockDevice] { [] }
    func pmemsave(address: UInt64, size: UInt64, path: String) throws(BackendError) { calls.append("pmemsave") }
    var migrationInfo: MigrationInfo { MigrationInfo() }
    func migrate(
        uri: String, blk: Bool, inc: Bool, resume: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle {
        calls.append("migrate \(uri) blk=\(blk) inc=\(inc) resume=\(resume) detach=\(detach)")
        throw BackendError("not here")
    }
    func cancelMigration() { calls.append("cancelMigration") }
    func continueMigration(state: String) throws(BackendError) { calls.append("continueMigration") }
    func startIncoming(uri: String) throws(BackendError) { calls.append("startIncoming") }
    var migrationParameters: MigrationParameters { MigrationParameters() }
    func setMigrationParameter(name: String, value: String) throws(BackendError) { calls.append("setParameter") }
    func setMigrationParameters(_ parameters: MigrationParameters) throws(BackendError) {}
    func setMigrationSpeed(bytes: UInt64) throws(BackendError) { calls.append("setMigrationSpeed \(bytes)") }
    func setMigrationDowntime(seconds: Double) throws(BackendError) { calls.append("setMigrationDowntime") }
    var migrationCapabilities: MigrationCapabilities { MigrationCapabilities() }
    var migrationParameterNames: [String] { ["mode", "zero-page-detection"] }
    var migrationCapabilityNames: [String] { ["mapped-ram"] }
    func setMigrationCapability(name: String, on: Bool) throws(BackendError) { calls.append("setCapability") }
    func name(descriptor: Int32, as name: String) throws(BackendError) { calls.append("getfd") }
    func closeDescriptor(named name: String) throws(BackendError) { calls.append("closefd") }
    func quit() { calls.append("quit") }
    func humanMonitorCommand(_ line: String) -> String? {
        calls.append("monitor \(line)")
        return "QEMU ran: \(line)\n"
    }
    var otherCommands: (commands: [String], infoItems: [String]) { ([], []) }
    func observeEvents(_ observer: @escaping (BackendEvent) -> Void) {}
    func deliverEvents() {}
}
