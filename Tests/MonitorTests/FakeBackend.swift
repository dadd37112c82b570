import Glibc
import Machine
import Migration
@testable import Monitor
import MigrationModel
import Platform

/// A backend with no machine behind it, for the dispatcher's tests: it records every call and answers with fixed
/// values. Attached (the default), it stands for a QEMU with a monitor of its own, which answers lines sent to it
/// with `QEMU ran: LINE`; not attached, it has no such monitor, as the built-in machine has none, so every line
/// goes to hmp's handlers.
final class FakeBackend: MonitorBackend, @unchecked Sendable {
    // @unchecked: a test drives it from its own thread only (the dispatcher runs a line on the caller's thread).

    /// Each call, in order: `monitor LINE` for a line sent to the QEMU's own monitor, else the member's name.
    private(set) var calls: [String] = []
    let attached: Bool

    init(attached: Bool = true) {
        self.attached = attached
    }

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
        guard attached else { return nil }
        calls.append("monitor \(line)")
        return "QEMU ran: \(line)\n"
    }
    var otherCommands: (commands: [String], infoItems: [String]) { ([], []) }
    func observeEvents(_ observer: @escaping (BackendEvent) -> Void) {}
    func deliverEvents() {}

    /// Runs `line` through a dispatcher over a fresh fake: the calls it made and what it printed (small outputs
    /// only: they must fit in the pipe).
    static func dispatch(_ line: String, attached: Bool = true) -> (calls: [String], output: String) {
        let backend = FakeBackend(attached: attached)
        let dispatcher = CommandDispatcher(table: hmpCommands, backend: backend, hub: MonitorHub(loop: EventLoop()))
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let session = MonitorSession(output: fds[1], history: CommandHistory(), isTerminal: false)
        dispatcher.execute(line, in: session)
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        return (backend.calls, String(decoding: buffer[0..<max(0, n)], as: UTF8.self))
    }
}
