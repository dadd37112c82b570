import Foundation
import Testing
import TestSupport

/// A detached migration's end as QEMU 7.2's monitor shows it on a pipe or socket: `migrate -d` then `migrate_cancel`
/// prints nothing more than the same commands on QEMU's own monitor (`total time: 0 ms` once cancelled), and a
/// detached failure goes to stderr, never to the monitor.
@Suite(.serialized) struct DetachedMigrationAsQEMUTests {
    let scratch = TempDir()

    /// What each command prints, waiting in between as a person would: the cancel is in flight while
    /// `info migrate` waits for its end, so a line the end broadcast shows up in a later command's output.
    private func cancelTranscript(_ run: (String) -> [String]?, port: Int) -> [[String]] {
        var seen: [[String]] = []
        for command in ["migrate_set_parameter max-bandwidth 1k", "migrate -d tcp:127.0.0.1:\(port)"] {
            seen.append(run(command) ?? ["no answer to \(command)"])
        }
        usleep(300_000)
        seen.append(run("migrate_cancel") ?? ["no answer to migrate_cancel"])
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !(run("info migrate") ?? []).contains("Migration status: cancelled") {
            usleep(50_000)
        }
        usleep(300_000)
        for command in ["info migrate", "info status"] {
            seen.append(run(command) ?? ["no answer to \(command)"])
        }
        return seen
    }

    @Test func migrateDetachedThenCancelPrintsWhatQEMUPrints() throws {
        let qemuPort = freePort()
        let qemuDestination = try QEMUProcess(scratch: scratch, name: "qdst", incomingPort: qemuPort, machine: "none")
        let qemu = try QEMUProcess(scratch: scratch, name: "qsrc", paused: false, machine: "none")
        defer { qemu.kill(); qemuDestination.kill() }
        let expected = cancelTranscript({ qemu.monitor($0) }, port: qemuPort)
        #expect(expected.last == ["VM status: running"], "\(expected)")

        let port = freePort()
        let destination = try HMPProcess(["-m", "64", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        let hmp = try HMPProcess(["-m", "64", "-workload", "ram=8M"])
        defer { hmp.close() }
        let seen = cancelTranscript({ QEMUProcess.lines(hmp.run($0)) }, port: port)
        #expect(seen == expected)
        #expect(hmp.errorText == "")
    }

    @Test func detachedFailureGoesToStderrNotTheMonitor() throws {
        let port = freePort()
        let qemu = try QEMUProcess(scratch: scratch, name: "qsrc", paused: false, machine: "none")
        defer { qemu.kill() }
        let hmp = try HMPProcess(["-m", "64"])
        defer { hmp.close() }
        for run in [{ qemu.monitor($0) }, { QEMUProcess.lines(hmp.run($0)) }] as [(String) -> [String]?] {
            #expect(run("migrate -d tcp:127.0.0.1:\(port)") == [])
            usleep(300_000)
            #expect(run("info status") == ["VM status: running"])
        }
        // QEMU's migrate_fd_cleanup: error_report_err, "qemu-system-x86_64: " and the error, on stderr.
        #expect(hmp.errorText == "hmp: Failed to connect to '127.0.0.1:\(port)': Connection refused\n")
    }

    /// An idle 64 MiB guest's completed migration: the same lines as QEMU 7.2's (`-M none -m 64` to a QEMU
    /// destination), in the same order; the RAM went out in the first iteration, before the guest stopped, so it is
    /// all precopy (no downtime ram line), two bitmap syncs (setup and completion), and a throughput measured.
    @Test func idleGuestInfoMigrateAsQEMU() throws {
        func labels(_ lines: [String]) -> [String] { lines.map { String($0.prefix { $0 != ":" }) } }
        func value(_ lines: [String], _ label: String) -> String? {
            lines.first { $0.hasPrefix(label + ": ") }.map { String($0.dropFirst(label.count + 2)) }
        }
        func migrated(_ run: (String) -> [String]?, port: Int) -> [String] {
            _ = run("migrate -d tcp:127.0.0.1:\(port)")
            let deadline = Date().addingTimeInterval(20)
            var info: [String] = []
            while Date() < deadline {
                info = run("info migrate") ?? []
                if info.contains("Migration status: completed") { break }
                usleep(50_000)
            }
            return Array(info.drop { !$0.hasPrefix("Migration status") })
        }
        let qemuPort = freePort()
        let qemuDestination = try QEMUProcess(scratch: scratch, name: "qdst", incomingPort: qemuPort, machine: "none")
        let qemu = try QEMUProcess(scratch: scratch, name: "qsrc", paused: false, machine: "none")
        defer { qemu.kill(); qemuDestination.kill() }
        let expected = migrated({ qemu.monitor($0) }, port: qemuPort)

        let port = freePort()
        let destination = try HMPProcess(["-m", "64", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        let hmp = try HMPProcess(["-m", "64"])
        defer { hmp.close() }
        let seen = migrated({ QEMUProcess.lines(hmp.run($0)) }, port: port)

        #expect(expected.first == "Migration status: completed", "\(expected)")
        #expect(labels(seen) == labels(expected), "hmp:\n\(seen)\nQEMU 7.2:\n\(expected)")
        #expect(value(seen, "dirty sync count") == "2")
        #expect(value(seen, "dirty sync count") == value(expected, "dirty sync count"))
        #expect(value(seen, "duplicate") == value(expected, "duplicate"))
        #expect(value(seen, "normal") == value(expected, "normal"))
        #expect(value(seen, "downtime ram") == nil)
        // About 9 bytes a zero page for each of 16384 pages: QEMU 7.2 says 144 kbytes.
        let precopy = value(seen, "precopy ram").flatMap { Int($0.split(separator: " ")[0]) } ?? 0
        #expect((140...150).contains(precopy), "\(seen)")
        let throughput = value(seen, "throughput").flatMap { Double($0.split(separator: " ")[0]) } ?? 0
        #expect(throughput > 0, "\(seen)")
    }
}
