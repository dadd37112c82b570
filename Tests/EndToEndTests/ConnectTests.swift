import Foundation
import Glibc
import Testing
import TestSupport

/// `hmp --connect` on a pipe, attached to a real QEMU's QMP socket, 7.2 and 10.0 alike; that QEMU's own HMP (on a
/// second socket) is the reference its output is compared with.
@Suite(.serialized) struct ConnectTests {
    let scratch = TempDir()

    /// What hmp printed for one command, as lines.
    func lines(_ output: String) -> [String] { QEMUProcess.lines(output) }

    @Test(arguments: QEMUVersion.allCases) func bannerStatusAndPassthrough(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q", version: version)
        defer { qemu.kill() }
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress])
        defer { hmp.close() }
        let answers = hmp.run([
            "info status", "cont", "info status", "info qtree", "info registers", "x /4x 0", "nosuch",
            "migrate_set_parameter max-bandwidth 1x",
        ])
        #expect(answers.count == 8, "\(hmp.text)\n\(hmp.errorText)")
        guard answers.count == 8 else { return }
        let banner = hmp.text.components(separatedBy: "\n").first ?? ""
        #expect(banner.contains("attached to QEMU \(version.rawValue)"), "\(banner)")
        #expect(answers[0] == "VM status: paused (prelaunch)\n")
        #expect(answers[1] == "")
        #expect(answers[2] == "VM status: running\n")
        #expect(lines(answers[3]).first == "bus: main-system-bus", "\(answers[3].prefix(200))")
        for answer in answers[4...5] {
            #expect(!answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            #expect(!answer.contains("unknown command"), "\(answer)")
        }
        #expect(answers[4].contains("EIP=") || answers[4].contains("RIP="), "\(answers[4].prefix(300))")
        #expect(answers[5].hasPrefix("0000000000000000: 0x"), "\(answers[5])")
        #expect(answers[6] == "unknown command: 'nosuch'\n")
        #expect(answers[7] == "Error: Invalid size 1x\n")
        #expect(hmp.errorText == "")
    }

    /// Every `info` that shows migration settings and state, before and after settings change, line for line as
    /// that QEMU's own monitor prints it: its version's parameters, capabilities and globals (as it really has them:
    /// this one runs with `-global migration.send-configuration=off`).
    @Test(arguments: QEMUVersion.allCases) func infoOutputsMatchQEMUsOwnMonitor(version: QEMUVersion) throws {
        let disk = scratch.file("disk.raw")
        sparseFile(disk, size: 16 << 20)
        let qemu = try QEMUProcess(
            scratch: scratch, name: "q", version: version, disk: disk,
            extra: ["-global", "migration.send-configuration=off"])
        defer { qemu.kill() }
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress])
        defer { hmp.close() }
        let commands = [
            "info migrate_parameters", "info migrate_capabilities", "info status", "info block", "info migrate",
            "info version",
        ]
        func compare() {
            for command in commands {
                let ours = lines(hmp.run(command))
                let theirs = qemu.monitor(command)
                #expect(theirs != nil && !(theirs ?? []).isEmpty, "QEMU's monitor answers \(command)")
                #expect(ours == theirs, "\(command):\nhmp:\n\(ours.joined(separator: "\n"))\nQEMU:\n\((theirs ?? []).joined(separator: "\n"))")
            }
        }
        compare()
        #expect(lines(hmp.run("info migrate")).contains("send-configuration: off"))
        // Settings only this version has, set through hmp, as QEMU's own monitor sets them.
        let settings = version == .v7_2
            ? ["migrate_set_parameter compress-level 5", "migrate_set_capability compress on"]
            : ["migrate_set_parameter mode cpr-reboot", "migrate_set_parameter multifd-zlib-level 4",
               "migrate_set_parameter avail-switchover-bandwidth 1G", "migrate_set_capability mapped-ram on"]
        for line in settings + ["migrate_set_parameter downtime-limit 450", "migrate_set_capability events on"] {
            #expect(hmp.run(line) == "", "\(line)")
        }
        compare()
        // A name this QEMU does not know gets that QEMU's own words.
        for line in ["migrate_set_parameter no-such-parameter 1", "migrate_set_capability no-such-capability on",
                     version == .v7_2 ? "migrate_set_parameter mode normal" : "migrate_set_parameter compress-level 1"]
        {
            let ours = lines(hmp.run(line))
            #expect(ours == qemu.monitor(line), "\(line): \(ours)")
            #expect(ours.first?.hasPrefix("Error: ") == true, "\(line): \(ours)")
        }
    }

    /// `migrate -r`, `migrate_continue` and `-b` print what that QEMU's monitor prints, or for `-b` where QEMU
    /// removed block migration, what to do instead; nothing is started.
    @Test(arguments: QEMUVersion.allCases) func resumeContinueAndBlockWhereThereIsNone(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q", version: version)
        defer { qemu.kill() }
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress])
        defer { hmp.close() }
        for line in ["migrate -r tcp:127.0.0.1:9", "migrate_continue pre-switchover", "migrate_continue nosuch"] {
            let ours = lines(hmp.run(line))
            #expect(ours == qemu.monitor(line), "\(line): \(ours)")
            #expect(ours.first?.hasPrefix("Error: ") == true, "\(line): \(ours)")
        }
        if version == .v10_0 {
            for line in ["migrate -b tcp:127.0.0.1:9", "migrate -i tcp:127.0.0.1:9", "migrate -d -b tcp:127.0.0.1:9"] {
                let answer = hmp.run(line)
                #expect(answer.hasPrefix("Error: QEMU 10.0.2 has no block migration"), "\(line): \(answer)")
                #expect(answer.contains("removed in QEMU 9.1"), "\(answer)")
            }
            #expect(lines(hmp.run("info migrate")) == qemu.monitor("info migrate"), "no migration was started")
            #expect(!(qemu.monitor("info migrate") ?? []).contains { $0.hasPrefix("Migration status") })
        }
    }

    /// A RAM migration typed at hmp, on each version and from 7.2 to 10.0 (a 10.0 destination started with
    /// 7.2's machine type, as an upgrade does it): the RAM arrives byte for byte and `info migrate` is the QEMU's.
    @Test(arguments: [(QEMUVersion.v7_2, QEMUVersion.v7_2), (.v10_0, .v10_0), (.v7_2, .v10_0)])
    func migrationFromAPipe(from sourceVersion: QEMUVersion, to destinationVersion: QEMUVersion) throws {
        let port = freePort()
        let machine = sourceVersion == destinationVersion ? "pc" : "pc-i440fx-7.2"
        let destination = try QEMUProcess(
            scratch: scratch, name: "dst", version: destinationVersion, incomingPort: port, machine: machine)
        defer { destination.kill() }
        let source = try QEMUProcess(scratch: scratch, name: "src", version: sourceVersion, machine: machine)
        defer { source.kill() }
        // Something in RAM worth comparing: the firmware's own work, after a moment of running.
        #expect(source.monitor("cont") == [])
        usleep(300_000)
        let hmp = try HMPProcess(["--connect", source.qmpAddress])
        defer { hmp.close() }
        let output = hmp.run("migrate tcp:127.0.0.1:\(port)", timeout: 30)
        #expect(output == "", "\(output.debugDescription) \(hmp.errorText)")
        let ours = lines(hmp.run("info migrate"))
        #expect(ours.contains("Migration status: completed"), "\(ours.joined(separator: "\n"))")
        #expect(ours == source.monitor("info migrate"), "\(ours.joined(separator: "\n"))")
        #expect(hmp.run("info status") == "VM status: paused (postmigrate)\n")
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, destination.monitor("info status") == ["VM status: paused (inmigrate)"] {
            usleep(100_000)
        }
        // Started with -S, the destination has it all and stays paused until told to run.
        #expect(destination.monitor("info status") == ["VM status: paused"])
        let sentRAM = scratch.file("sent-ram.bin"), receivedRAM = scratch.file("received-ram.bin")
        #expect(hmp.run("pmemsave 0 67108864 \"\(sentRAM)\"") == "")
        #expect(destination.monitor("pmemsave 0 67108864 \"\(receivedRAM)\"") == [])
        #expect(sameBytes(sentRAM, receivedRAM), "the guest's RAM arrives byte for byte")
    }

    @Test func blockMigrationFromAPipe() throws {
        let pair = try QEMUBlockMigrationPair(scratch: scratch, diskSize: 64 << 20)
        defer { pair.kill() }
        let (source, destination, port) = (pair.source, pair.destination, pair.port)
        let (sourceDisk, destinationDisk) = (pair.sourceDisk, pair.destinationDisk)
        let hmp = try HMPProcess(["--connect", source.qmpAddress])
        defer { hmp.close() }
        #expect(hmp.run("migrate_set_parameter max-bandwidth 32M") == "")

        let started = Date()
        let output = hmp.run("migrate -b tcp:127.0.0.1:\(port)", timeout: 30)
        let elapsed = Date().timeIntervalSince(started)
        #expect(output.contains("Completed "), "\(output.debugDescription)")
        #expect(output.contains(" %\r"), "progress lines separated by \\r: \(output.debugDescription)")
        #expect(!output.contains("Error"), "\(output.debugDescription)")
        #expect(elapsed > 1, "returns after the migration, which lasts about 2 s at 32M: \(elapsed) s")

        // Right after, from both: the counters of a completed migration no longer move.
        let ours = lines(hmp.run("info migrate"))
        let theirs = source.monitor("info migrate") ?? []
        #expect(ours.contains("Migration status: completed"), "\(ours.joined(separator: "\n"))")
        #expect(ours == theirs, "hmp:\n\(ours.joined(separator: "\n"))\nQEMU:\n\(theirs.joined(separator: "\n"))")
        #expect(hmp.run("info status") == "VM status: paused (postmigrate)\n")

        // The destination has it all once it leaves inmigrate; it takes the source's run state (prelaunch: the
        // source never ran), and stays paused, started with -S.
        let deadline = Date().addingTimeInterval(15)
        var destinationStatus: [String] = []
        while Date() < deadline {
            destinationStatus = destination.monitor("info status") ?? []
            if !destinationStatus.isEmpty && destinationStatus != ["VM status: paused (inmigrate)"] { break }
            usleep(100_000)
        }
        #expect(destinationStatus == ["VM status: paused (prelaunch)"])

        let sentRAM = scratch.file("sent-ram.bin"), receivedRAM = scratch.file("received-ram.bin")
        #expect(hmp.run("pmemsave 0 67108864 \"\(sentRAM)\"") == "")
        #expect(destination.monitor("pmemsave 0 67108864 \"\(receivedRAM)\"") == [])
        #expect(FileManager.default.fileExists(atPath: sentRAM))
        #expect(sameBytes(sentRAM, receivedRAM), "the guest's RAM arrives byte for byte")

        // quit flushes the destination's drive; then the disks must be the same bytes.
        _ = destination.monitor("quit", timeout: 2)
        #expect(destination.waitForExit(timeout: 10))
        #expect(sameBytes(sourceDisk, destinationDisk), "the disk arrives byte for byte")
    }

    @Test(arguments: QEMUVersion.allCases) func qemuKilledEndsHMPWithOneLine(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q", version: version)
        defer { qemu.kill() }
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress])
        defer { hmp.close() }
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
        qemu.kill()
        let started = Date()
        let status = hmp.waitForExit(timeout: 5)
        #expect(status == 1, "stdin still open, hmp ends by itself: \(String(describing: status))")
        #expect(Date().timeIntervalSince(started) < 5)
        usleep(200_000)
        let errorLines = hmp.errorText.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(errorLines.count == 1, "\(hmp.errorText)")
        #expect(errorLines.first?.contains("closed the QMP connection") == true, "\(hmp.errorText)")
    }

    @Test(arguments: QEMUVersion.allCases) func quitEndsQEMUAndHMP(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q", version: version)
        defer { qemu.kill() }
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress])
        defer { hmp.close() }
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
        hmp.send("quit")
        #expect(qemu.waitForExit(timeout: 5), "QEMU quits")
        #expect(hmp.waitForExit(timeout: 5) == 0, "\(hmp.errorText)")
        #expect(hmp.errorText == "")
    }

    @Test func machineOptionsAndMissingSocketAreOneLineErrors() throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q")
        defer { qemu.kill() }
        let refused = try runHMP(["--connect", qemu.qmpAddress, "-m", "64"], stdin: "info status\n")
        #expect(refused.status == 1)
        let refusedLines = refused.stderr.split(separator: "\n")
        #expect(refusedLines.count == 1 && refusedLines[0].contains("-m"), "\(refused.stderr)")
        #expect(refused.stdout == "")

        let missing = try runHMP(["--connect", "unix:/nonexistent.sock"], stdin: "info status\n")
        #expect(missing.status == 1)
        let missingLines = missing.stderr.split(separator: "\n")
        #expect(missingLines.count == 1 && missing.stderr.hasSuffix("\n"), "\(missing.stderr)")
        #expect(missing.stderr.contains("/nonexistent.sock"), "\(missing.stderr)")
        #expect(missing.stdout == "")
    }
}
