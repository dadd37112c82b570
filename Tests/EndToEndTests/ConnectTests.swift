import Foundation
import Glibc
import Testing

/// `hmp --connect` on a pipe, attached to a real QEMU 7.2's QMP socket; QEMU's own HMP (on a second socket) is
/// the reference its output is compared with.
@Suite(.serialized) struct ConnectTests {
    let scratch = Scratch()

    /// What hmp printed for one command, as lines.
    func lines(_ output: String) -> [String] { QEMUProcess.lines(output) }

    @Test func bannerStatusAndPassthrough() throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q")
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
        #expect(banner.contains("attached to QEMU 7.2"), "\(banner)")
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

    @Test func infoOutputsMatchQEMUsOwnMonitor() throws {
        let disk = scratch.file("disk.raw")
        sparseFile(disk, size: 16 << 20)
        let qemu = try QEMUProcess(scratch: scratch, name: "q", disk: disk)
        defer { qemu.kill() }
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress])
        defer { hmp.close() }
        for command in ["info migrate_parameters", "info migrate_capabilities", "info status", "info block"] {
            let ours = lines(hmp.run(command))
            let theirs = qemu.monitor(command)
            #expect(theirs != nil && !(theirs ?? []).isEmpty, "QEMU's monitor answers \(command)")
            #expect(ours == theirs, "\(command):\nhmp:\n\(ours.joined(separator: "\n"))\nQEMU:\n\((theirs ?? []).joined(separator: "\n"))")
        }
    }

    @Test func blockMigrationFromAPipe() throws {
        let size = 64 << 20
        let sourceDisk = scratch.file("src.raw"), destinationDisk = scratch.file("dst.raw")
        try randomFile(sourceDisk, size: size)
        sparseFile(destinationDisk, size: size)
        let port = freePort()
        let destination = try QEMUProcess(scratch: scratch, name: "dst", disk: destinationDisk, incomingPort: port)
        defer { destination.kill() }
        let source = try QEMUProcess(scratch: scratch, name: "src", disk: sourceDisk)
        defer { source.kill() }
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

    @Test func qemuKilledEndsHMPWithOneLine() throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q")
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

    @Test func quitEndsQEMUAndHMP() throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q")
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
