import Glibc
import Machine
import Migration
@testable import Monitor
import Platform
import Testing

/// Lines through the dispatcher to a LocalBackend, output read back from a pipe.
@Suite struct DispatcherTests {
    final class Harness {
        let hub = MonitorHub(loop: EventLoop())
        let backend: LocalBackend
        let dispatcher: CommandDispatcher
        let session: MonitorSession
        private let readEnd: Int32

        init(_ configuration: MachineConfiguration = MachineConfiguration(ramSize: 1 << 20)) throws {
            backend = LocalBackend(
                machine: try Machine(configuration: configuration), loop: hub.loop, endApplication: { _ in })
            dispatcher = CommandDispatcher(table: hmpCommands, backend: backend, hub: hub)
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            readEnd = fds[0]
            session = MonitorSession(output: fds[1], history: CommandHistory(), isTerminal: false)
        }

        deinit {
            close(readEnd)
            close(session.output)
            backend.machine.shutdown()
        }

        /// What `line` printed (small outputs only: they must fit in the pipe).
        func run(_ line: String) -> [String] {
            dispatcher.execute(line, in: session)
            var ready = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            var text: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while poll(&ready, 1, 0) == 1 {
                let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                guard n > 0 else { break }
                text += buffer[0..<n]
            }
            return String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .dropLast().map(String.init)
        }
    }

    @Test func infoFromValues() throws {
        let h = try Harness(MachineConfiguration(ramSize: 1 << 20, startPaused: true, name: "vm1"))
        #expect(h.run("info status") == ["VM status: paused (prelaunch)"])
        #expect(h.run("c") == [])
        #expect(h.run("info status") == ["VM status: running"])
        #expect(h.run("stop") == [])
        #expect(h.run("info status") == ["VM status: paused"])
        #expect(h.run("info name") == ["vm1"])
        #expect(h.run("info block") == [])
        #expect(h.run("info block drive0") == ["Error: Device 'drive0' not found"])
        #expect(h.run("info migrate") == HMPFormat.migrationGlobals)
        #expect(h.run("info migrate_parameters") == HMPFormatTests.defaultParameters)
    }

    @Test func infoBlockFromTheDrives() throws {
        var template = Array("/tmp/hmp-monitor-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        let path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        defer { unlink(path) }
        _ = ftruncate(fd, 4096)
        close(fd)
        let h = try Harness(MachineConfiguration(
            ramSize: 1 << 20,
            drives: [DriveConfiguration(path: path, id: "drive0"), DriveConfiguration(path: path, id: "ro", readOnly: true)]))
        #expect(h.backend.blockDevices.map(\.nodeName) == ["#block101", "#block102"])
        #expect(h.run("info block") == [
            "drive0 (#block101): \(path) (raw)",
            "    Cache mode:       writeback",
            "",
            "ro (#block102): \(path) (raw, read-only)",
            "    Cache mode:       writeback",
        ])
        #expect(h.run("info block ro") == ["ro (#block102): \(path) (raw, read-only)", "    Cache mode:       writeback"])
    }

    @Test func backendErrorsKeepQEMUTexts() throws {
        let h = try Harness()
        #expect(h.run("migrate_set_parameter compress-level 10") == [
            "Error: Parameter 'compress_level' expects a value between 0 and 9",
        ])
        #expect(h.run("migrate_set_parameter downtime-limit -1") == [
            "Error: Parameter 'downtime-limit' expects a non-negative number below 2^64",
            "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-",
            "and exabytes, respectively.",
        ])
        #expect(h.run("migrate_set_capability xbzrle on") == [
            "Error: capability 'xbzrle' is not supported by hmp's built-in machine",
        ])
        #expect(h.run("migrate_set_downtime 3000") == [
            "Error: Parameter 'downtime_limit' expects an integer in the range of 0 to 2000 seconds",
        ])
        #expect(h.run("migrate_incoming tcp:0:0") == ["Error: '-incoming' was not specified on the command line"])
        #expect(h.run("closefd nope") == ["Error: File descriptor named 'nope' not found"])
        #expect(h.run("migrate_set_speed 1M") == [])
        #expect(h.backend.migrationParameters.maxBandwidth == 1 << 20)
        #expect(h.run("quit") == [])
        #expect(h.hub.isQuitting)
    }

    @Test func descriptorsByName() throws {
        let h = try Harness()
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        h.backend.name(descriptor: fd, as: "x")
        try h.backend.closeDescriptor(named: "x")
        #expect(throws: BackendError("File descriptor named 'x' not found")) { try h.backend.closeDescriptor(named: "x") }
    }

    /// Runs `line`'s handler directly, as the dispatcher would under its lock, and returns what it left to do.
    private func outcome(of line: String, in h: Harness) throws -> CommandOutcome? {
        guard let parsed = try hmpCommands.parse(line), let handler = parsed.definition.handler else { return nil }
        let invocation = CommandInvocation(arguments: parsed.arguments, backend: h.backend, hub: h.hub, session: h.session)
        return try handler(invocation)
    }

    /// `migrate` returns what is to be waited for rather than waiting; `-d` returns nothing to wait for.
    @Test func migrateReturnsTheHandle() throws {
        let h = try Harness()
        let first = try outcome(of: "migrate \"exec:cat >/dev/null\"", in: h)
        guard case .waitForMigration(let migration, _) = first else {
            Issue.record("migrate without -d returned \(String(describing: first))")
            return
        }
        #expect(migration.blockMode == .none)
        let deadline = Clock.milliseconds() + 10_000
        while !migration.info.status.isFinished && Clock.milliseconds() < deadline { usleep(10_000) }
        #expect(migration.info.status == .completed)
        #expect(h.backend.migrationInfo.status == .completed)

        let second = try outcome(of: "migrate -d \"exec:cat >/dev/null\"", in: h)
        guard case .done = second else {
            Issue.record("migrate -d returned \(String(describing: second))")
            return
        }
        while h.backend.migrationInfo.status.isRunning && Clock.milliseconds() < deadline { usleep(10_000) }
        h.backend.cancelMigration()
    }
}

/// Attached to a QEMU, the table decides who runs each line: rows marked `.qemuMonitor` and lines it does not
/// have go to that QEMU's own monitor, the rest to hmp's handlers; nothing else is sent.
@Suite struct AttachedRoutingTests {
    private func run(_ line: String) -> (calls: [String], output: String) {
        FakeBackend.dispatch(line)
    }

    @Test(arguments: [
        "info status", "info migrate", "info migrate_parameters", "info migrate_capabilities", "info block",
        "info version", "info name", "migrate_set_parameter mode cpr-reboot", "migrate_set_capability mapped-ram on",
        "migrate_continue pre-switchover", "migrate_incoming tcp:0:1", "pmemsave 0 4096 \"/tmp/x\"",
        "info qtree", "x /4x 0", "device_add foo", "nosuch", "info nosuch",
    ])
    func linesForQEMUsMonitor(line: String) {
        let result = run(line)
        #expect(result.calls == ["monitor \(line)"])
        #expect(result.output == "QEMU ran: \(line)\n")
    }

    @Test func linesForHMPsHandlers() {
        #expect(run("migrate -d tcp:127.0.0.1:9").calls == ["migrate tcp:127.0.0.1:9 blk=false inc=false resume=false detach=true"])
        #expect(run("migrate -r tcp:127.0.0.1:9").calls == ["migrate tcp:127.0.0.1:9 blk=false inc=false resume=true detach=false"])
        #expect(run("migrate_cancel").calls == ["cancelMigration"])
        #expect(run("migrate_set_speed 1k").calls == ["setMigrationSpeed 1024"])
        #expect(run("stop").calls == ["stop"])
        #expect(run("info history").calls == [])
        #expect(run("help migrate").calls == [])
        #expect(run("   ").calls == [])
        // A row's own argument errors are hmp's: QEMU never sees the line.
        let bad = run("migrate")
        #expect(bad.calls == [])
        #expect(bad.output.contains("migrate"), "\(bad.output)")
    }
}

/// The dispatcher itself, over a fake with no monitor of its own (as the built-in machine has none): what reaches
/// the backend, once, and what never does.
@Suite struct DispatcherCallTests {
    @Test func handlersCallTheBackendOnce() {
        #expect(FakeBackend.dispatch("info status", attached: false) == (["runState"], "VM status: running\n"))
        #expect(FakeBackend.dispatch("stop", attached: false).calls == ["stop"])
        #expect(FakeBackend.dispatch("c", attached: false).calls == ["cont"])
        #expect(FakeBackend.dispatch("migrate_set_speed 1k", attached: false).calls == ["setMigrationSpeed 1024"])
        #expect(FakeBackend.dispatch("quit", attached: false).calls == ["quit"])
    }

    @Test func linesNoRowTakesNeverReachTheBackend() {
        #expect(FakeBackend.dispatch("nosuch", attached: false) == ([], "unknown command: 'nosuch'\n"))
        #expect(FakeBackend.dispatch("info qtree", attached: false).calls == [])
        #expect(FakeBackend.dispatch("   ", attached: false) == ([], ""))
        #expect(FakeBackend.dispatch("migrate", attached: false).calls == [])
        #expect(FakeBackend.dispatch("help stop", attached: false).calls == [])
    }
}

/// Where a storage migration's NBD server listens: the migration URI's host, loopback for one that means this
/// machine, never a wider address.
@Suite struct StorageMigrationAddressTests {
    @Test func theURIsHostOrLoopback() {
        #expect(StorageMigration.tcpHostAndPort("tcp:0:4445")! == ("127.0.0.1", 4445))
        #expect(StorageMigration.tcpHostAndPort("tcp:localhost:4445")! == ("127.0.0.1", 4445))
        #expect(StorageMigration.tcpHostAndPort("tcp:127.0.0.1:9")! == ("127.0.0.1", 9))
        #expect(StorageMigration.tcpHostAndPort("tcp:[::1]:9")! == ("::1", 9))
        #expect(StorageMigration.tcpHostAndPort("tcp:192.0.2.7:9")! == ("192.0.2.7", 9))
        #expect(StorageMigration.tcpHostAndPort("unix:/tmp/m.sock") == nil)
        #expect(StorageMigration.tcpHostAndPort("tcp:127.0.0.1:65535") == nil, "no port left for NBD")
        #expect(StorageMigration.tcpHostAndPort("exec:cat") == nil)
    }
}
