import Foundation
import Testing
import TestSupport

/// SIGTERM, SIGHUP and SIGINT end hmp cleanly whatever it is doing, with QEMU's line on stderr and status 0:
/// on a pipe monitor, with no monitor, during an incoming load and during an outgoing migration.
@Suite(.serialized) struct SignalTests {
    let scratch = TempDir()

    /// QEMU's words, with this test process as the sender.
    func terminating(_ signal: Int32) -> String {
        "hmp: terminating on signal \(signal) from pid \(getpid()) ("
    }

    @Test(arguments: [SIGTERM, SIGHUP, SIGINT])
    func signalAtAPipeMonitorEndsHMP(signal: Int32) throws {
        let hmp = try HMPProcess(["-m", "64", "-workload", "ram=1M"])
        defer { hmp.close() }
        #expect(hmp.run("info status").contains("running"))
        kill(hmp.process.processIdentifier, signal)
        #expect(hmp.waitForExit() == 0)
        #expect(hmp.errorText.contains(terminating(signal)), "\(hmp.errorText)")
        #expect(hmp.process.terminationReason == .exit, "hmp exits, it is not killed by the signal")
    }

    @Test func sigtermWithNoMonitorEndsHMP() throws {
        let hmp = try HMPProcess(["-m", "64", "-monitor", "none"])
        defer { hmp.close() }
        usleep(300_000)
        kill(hmp.process.processIdentifier, SIGTERM)
        #expect(hmp.waitForExit() == 0)
        #expect(hmp.errorText.contains(terminating(SIGTERM)), "\(hmp.errorText)")
    }

    /// A workload asked for more than a thread can write still yields at once to a signal, and the line is said once.
    @Test func sigtermWithAnImpossibleWorkloadEndsHMPAtOnce() throws {
        let hmp = try HMPProcess(["-m", "64", "-workload", "ram=1E,disk=1E", "-monitor", "none"])
        defer { hmp.close() }
        usleep(500_000)
        let sent = Date()
        kill(hmp.process.processIdentifier, SIGTERM)
        #expect(hmp.waitForExit(timeout: 5) == 0)
        #expect(Date().timeIntervalSince(sent) < 2, "the workload's slice is bounded, so stopping it is quick")
        #expect(hmp.errorText.components(separatedBy: terminating(SIGTERM)).count == 2, "\(hmp.errorText)")
    }

    /// A source and a destination whose migration lasts: a workload dirties RAM faster than 1 MB/s goes out.
    func slowMigration() throws -> (source: HMPProcess, destination: HMPProcess) {
        let port = freePort()
        let destination = try HMPProcess(["-m", "256", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        _ = destination.run("info status")
        let source = try HMPProcess(["-m", "256", "-workload", "ram=8M"])
        _ = source.run("migrate_set_parameter max-bandwidth 1M")
        _ = source.run("migrate -d tcp:127.0.0.1:\(port)")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !source.run("info migrate").contains("Migration status: active") { usleep(100_000) }
        usleep(500_000)
        return (source, destination)
    }

    @Test func sigtermDuringAnIncomingLoadEndsTheDestination() throws {
        let (source, destination) = try slowMigration()
        defer { source.close(); destination.close() }
        #expect(source.run("info migrate").contains("Migration status: active"))
        kill(destination.process.processIdentifier, SIGTERM)
        #expect(destination.waitForExit(timeout: 5) == 0, "\(destination.errorText)")
        #expect(destination.errorText.contains(terminating(SIGTERM)), "\(destination.errorText)")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !source.run("info migrate").contains("Migration status: failed") { usleep(100_000) }
        #expect(source.run("info migrate").contains("Migration status: failed"))
        #expect(source.run("info status").contains("running"), "the source's guest runs on")
    }

    @Test func sigtermDuringAnOutgoingMigrationCancelsItAndExits() throws {
        let (source, destination) = try slowMigration()
        defer { source.close(); destination.close() }
        #expect(source.run("info migrate").contains("Migration status: active"))
        kill(source.process.processIdentifier, SIGTERM)
        #expect(source.waitForExit(timeout: 5) == 0, "\(source.errorText)")
        #expect(source.errorText.contains(terminating(SIGTERM)), "\(source.errorText)")
        // The destination sees the stream fail: it says so and exits 1, its guest never having run.
        #expect(destination.waitForExit(timeout: 10) == 1, "\(destination.errorText)")
        #expect(destination.errorText.contains("load of migration failed"), "\(destination.errorText)")
    }
}

extension SignalTests {
    /// Start-up waiting for its first socket client (`wait=on`) is no place to hang: hmp leaves after the grace.
    @Test func sigtermWhileWaitingForTheFirstSocketClientEndsHMP() throws {
        let socket = scratch.file("monitor.sock")
        let hmp = try HMPProcess(["-m", "64", "-monitor", "unix:\(socket),server=on,wait=on"])
        defer { hmp.close() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        kill(hmp.process.processIdentifier, SIGTERM)
        #expect(hmp.waitForExit(timeout: 10) == 0)
        #expect(hmp.errorText.contains(terminating(SIGTERM)), "\(hmp.errorText)")
    }
}
