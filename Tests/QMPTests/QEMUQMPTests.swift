import Foundation
import Glibc
import Platform
import QMP
import QObject
import Testing

/// The client against the real QEMU 7.2 (`scripts/install-deps test` installs it; a missing QEMU fails loudly).
@Suite(.serialized) struct QEMUQMPTests {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "qemu-system-x86_64 is not installed: run scripts/install-deps test" }
    }

    /// A QEMU with a QMP socket at `qmp` (`unix:PATH` or `tcp:HOST:PORT`), paused before it runs (-S).
    final class QEMUProcess {
        let process = Process()

        init(qmp: String) throws {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") else { throw Missing() }
            process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-system-x86_64")
            process.arguments = ["-M", "none", "-m", "16", "-nodefaults", "-display", "none", "-S",
                                 "-qmp", "\(qmp),server=on,wait=off"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// SIGKILL: Foundation starts children with SIGTERM blocked, so terminate() would not end QEMU.
        func kill() {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        deinit { kill() }
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
        let path = NSTemporaryDirectory() + "hmp-qmp-\(getpid()).sock"
        let qemu = try QEMUProcess(qmp: "unix:\(path)")
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
        let listener = try #require(Optional(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        let port = UInt16(bigEndian: address.sin_port)
        close(listener)
        let qemu = try QEMUProcess(qmp: "tcp:127.0.0.1:\(port)")
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
