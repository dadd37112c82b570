import Foundation
import Testing

/// `hmp --connect` at a real terminal (tmux, 100x30), attached to a real QEMU 7.2: the migration status line
/// and ^C, and QMP events shown above the prompt.
@Suite(.serialized) struct ConnectTerminalTests {
    let scratch = Scratch()

    func terminal(_ qemu: QEMUProcess) throws -> TerminalSession {
        let home = scratch.file("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return try TerminalSession("\(hmpBinary) --connect \(qemu.qmpAddress)", width: 100, height: 30,
                                   environment: ["HOME": home])
    }

    /// The last row of the screen, where the status line is pinned.
    func bottomRow(_ term: TerminalSession) -> String {
        ((try? term.screen()) ?? []).dropLast().last ?? ""
    }

    @Test func statusLineAndCtrlCCancels() throws {
        let size = 64 << 20
        let sourceDisk = scratch.file("src.raw"), destinationDisk = scratch.file("dst.raw")
        try randomFile(sourceDisk, size: size)
        sparseFile(destinationDisk, size: size)
        let port = freePort()
        let destination = try QEMUProcess(scratch: scratch, name: "dst", disk: destinationDisk, incomingPort: port)
        defer { destination.kill() }
        let source = try QEMUProcess(scratch: scratch, name: "src", disk: sourceDisk)
        defer { source.kill() }
        let term = try terminal(source)
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("migrate_set_parameter max-bandwidth 8M")
        try term.press("Enter")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")

        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        let shown = term.waitFor { _ in
            let row = bottomRow(term)
            return row.contains("Completed") || row.contains("MiB")
        }
        #expect(shown, "a status line at the bottom: \(term.screenText)")
        var samples: [String] = []
        for _ in 0..<4 {
            samples.append(bottomRow(term))
            usleep(400_000)
        }
        #expect(samples.allSatisfy { $0.contains("Completed") || $0.contains("MiB") }, "\(samples)")
        #expect(!term.cursorLineIs("(qemu) "), "no prompt while the migration runs")

        try term.press("C-c")
        #expect(term.waitFor { $0.contains("Migration cancelled; the guest is still paused here (prelaunch)") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused (prelaunch)") }, "\(term.screenText)")
        #expect(!term.screenText.contains("postmigrate"), "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("info migrate")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("Migration status: cancelled") }, "\(term.screenText)")
        #expect(source.monitor("info status") == ["VM status: paused (prelaunch)"], "QEMU itself agrees")
    }

    @Test func eventsShowAboveThePromptAndKeepTheLine() throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q")
        defer { qemu.kill() }
        let term = try terminal(qemu)
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("info sta")
        #expect(term.waitForCursorLine("(qemu) info sta"))

        // In prelaunch, stop does nothing (no event): cont first.
        #expect(qemu.monitor("cont") == [])
        #expect(term.waitFor { $0.contains("RESUME") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) info sta"), "the line being typed is kept: \(term.screenText)")
        #expect(eventIsAbovePrompt(term, "RESUME"), "\(term.screenText)")

        #expect(qemu.monitor("stop") == [])
        #expect(term.waitFor { $0.contains("STOP") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) info sta"), "the line being typed is kept: \(term.screenText)")
        #expect(eventIsAbovePrompt(term, "STOP"), "\(term.screenText)")

        try term.type("tus")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused") && !$0.contains("prelaunch") }, "\(term.screenText)")
    }

    /// Whether the last row naming `event` stands above the row of the prompt being typed at.
    func eventIsAbovePrompt(_ term: TerminalSession, _ event: String) -> Bool {
        let rows = (try? term.screen()) ?? []
        guard let eventRow = rows.lastIndex(where: { $0.contains(event) }),
              let promptRow = rows.lastIndex(where: { $0.hasPrefix("(qemu) info sta") })
        else { return false }
        return eventRow < promptRow
    }
}
