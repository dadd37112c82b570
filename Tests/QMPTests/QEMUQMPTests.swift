import Foundation
import Glibc
import Platform
import QMP
import QObject
import Testing
import TestSupport

/// The client against the real QEMU 7.2 (`scripts/install-deps test` installs it; a missing QEMU fails loudly).
@Suite(.serialized) struct QEMUQMPTests {
    /// A QEMU 7.2 with a QMP socket at `qmp` (`unix:PATH` or `tcp:HOST:PORT`), paused before it runs (-S).
    func startQEMU(qmp: String) throws -> StdioQEMU {
        try StdioQEMU(["-S", "-qmp", "\(qmp),server=on,wait=off"])
    }

    /// Connects, retrying while QEMU is still starting.
    func open(_ address: QMPAddress, loop: EventLoop) throws -> QMPClient {
        let deadline = Date().addingTimeInterval(10)
        while true {
            do throws(QMPError) { return try QMPClient.open(address, loop: loop, timeout: 5000) } catch {
                guard Date() < deadline, case .cannotConnect = error else { throw error }
                usleep(50_000)
            }
        }
    }

    @Test func negotiatesQueriesAndPassesHMPThrough() throws {
        let directory = TempDir()
        let path = directory.file("qmp.sock")
        let qemu = try startQEMU(qmp: "unix:\(path)")
        _ = qemu
        let loop = EventLoop()
        let connection = try open(.unix(path: path), loop: loop)
        var events: [String] = []
        var lost: QMPError?
        connection.onEvents = { events += $0.map(\.name) }
        connection.onLost = { lost = $0 }
        let greeting = try #require(connection.greeting)
        #expect(greeting.major == 7 && greeting.minor == 2)
        let status = try connection.call("query-status")
        #expect(status.dict?["status"] == "prelaunch")
        #expect(try connection.call("human-monitor-command", arguments: ["command-line": "info status"])
            == "VM status: paused (prelaunch)\r\n")
        #expect(throws: QMPError.command(QMPCommandError(class: "CommandNotFound", description: "The command nosuch has not been found"))) {
            try connection.call("nosuch")
        }
        _ = try connection.call("cont")
        loop.runOnce(timeout: 0)
        #expect(events == ["RESUME"])
        // quit: SHUTDOWN comes before the reply, then the socket closes.
        _ = try connection.call("quit")
        for _ in 0..<100 where lost == nil { loop.runOnce(timeout: 20) }
        #expect(events == ["RESUME", "SHUTDOWN"])
        #expect(lost == .connectionClosed)
    }

    @Test func connectsOverTCPAndSeesQEMUGoAway() throws {
        let port = freePort()
        let qemu = try startQEMU(qmp: "tcp:127.0.0.1:\(port)")
        let loop = EventLoop()
        let connection = try open(.tcp(host: "127.0.0.1", port: "\(port)"), loop: loop)
        var lost: QMPError?
        connection.onLost = { lost = $0 }
        #expect(try connection.call("query-name") == .dict(QDict()))
        qemu.kill()
        for _ in 0..<100 where lost == nil { loop.runOnce(timeout: 20) }
        #expect(lost == .connectionClosed)
    }

    @Test func addressesParseOrSayWhatIsExpected() throws {
        #expect(try QMPAddress(parsing: "unix:/tmp/q.sock") == .unix(path: "/tmp/q.sock"))
        #expect(try QMPAddress(parsing: "tcp:127.0.0.1:4445") == .tcp(host: "127.0.0.1", port: "4445"))
        #expect(try QMPAddress(parsing: "tcp:[::1]:4445") == .tcp(host: "::1", port: "4445"))
        #expect(throws: QMPError.badAddress("tcp:4445", "tcp: needs a host and a port, as in tcp:127.0.0.1:4445")) {
            try QMPAddress(parsing: "tcp:4445")
        }
        #expect(throws: QMPError.badAddress("qmp.sock", "give unix:PATH or tcp:HOST:PORT")) {
            try QMPAddress(parsing: "qmp.sock")
        }
        #expect(throws: QMPError.cannotConnect("unix:/nonexistent/q.sock", "No such file or directory")) {
            try QMPClient.open(.unix(path: "/nonexistent/q.sock"), loop: EventLoop())
        }
    }
}
