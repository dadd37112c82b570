import Foundation
import Testing
import TestSupport

/// `hmp --connect` at a real terminal (tmux, 100x30), attached to a real QEMU 7.2: the migration status line
/// and ^C, and QMP events shown above the prompt.
@Suite(.serialized) struct ConnectTerminalTests {
    let scratch = TempDir()

    func terminal(_ qemu: QEMUProcess) throws -> TerminalSession {
        let home = try scratch.directory("home")
        return try TerminalSession("\(hmpBinary) --connect \(qemu.qmpAddress)", width: 100, height: 30,
                                   environment: ["HOME": home])
    }

    /// The last row of the screen, where the status line is pinned.
    func bottomRow(_ term: TerminalSession) -> String {
        ((try? term.screen()) ?? []).dropLast().last ?? ""
    }

    @Test func statusLineAndCtrlCCancels() throws {
        let pair = try QEMUBlockMigrationPair(scratch: scratch, diskSize: 64 << 20)
        defer { pair.kill() }
        let (source, port) = (pair.source, pair.port)
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

    @Test(arguments: QEMUVersion.allCases) func eventsShowAboveThePromptAndKeepTheLine(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q-\(version.rawValue)", version: version)
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

/// A synchronous `migrate -b` at a terminal on each QEMU (7.2's own block migration; 10.0's over NBD with
/// `--destination`): QEMU's events appear above the status line while it runs, and the summary counts the disks.
/// Then a QEMU that stops answering mid-way: a second ^C gives the prompt back, and the end is reported once
/// QEMU answers again.
@Suite(.serialized) struct ConnectTerminalMigrationTests {
    let scratch = TempDir()

    struct Setup {
        let source: QEMUProcess
        let destination: QEMUProcess
        let term: TerminalSession
        let port: Int
        func close() {
            term.close()
            kill(source.pid, SIGCONT)
            source.kill()
            destination.kill()
        }
    }

    func start(_ version: QEMUVersion, diskMiB: Int) throws -> Setup {
        let tag = "\(version.rawValue)-\(UInt32.random(in: 0...UInt32.max))"
        let pair = try QEMUBlockMigrationPair(scratch: scratch, diskSize: diskMiB << 20, tag: "-\(tag)", version: version)
        let (source, destination, port) = (pair.source, pair.destination, pair.port)
        let home = try scratch.directory("home")
        let destinationOption = version == .v7_2 ? "" : " --destination \(destination.qmpAddress)"
        let term = try TerminalSession(
            "\(hmpBinary) --connect \(source.qmpAddress)\(destinationOption)", width: 120, height: 40,
            environment: ["HOME": home])
        return Setup(source: source, destination: destination, term: term, port: port)
    }

    func typeLine(_ term: TerminalSession, _ line: String) throws {
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type(line)
        try term.press("Enter")
    }

    @Test(arguments: QEMUVersion.allCases) func eventsAsTheyHappenAndATrueSummary(version: QEMUVersion) throws {
        let setup = try start(version, diskMiB: 32)
        defer { setup.close() }
        let term = setup.term
        try typeLine(term, "migrate_set_capability events on")
        try typeLine(term, "migrate_set_parameter max-bandwidth 12M")
        try typeLine(term, "migrate -b tcp:127.0.0.1:\(setup.port)")
        // While the status line is still up, QEMU's news is already on the screen above it.
        let early = version == .v7_2 ? "[MIGRATION status=active]" : "[BLOCK_JOB_READY"
        #expect(term.waitFor(timeout: 20) { $0.contains(early) && !$0.contains("Migration completed") },
                "\(term.screenText)")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed in") }, "\(term.screenText)")
        let rows = (try? term.screen()) ?? []
        let summary = rows.last { $0.contains("Migration completed in") } ?? ""
        let sent = summary.split(separator: " ").firstIndex(of: "MiB").flatMap { index -> Int? in
            let words = summary.split(separator: " ")
            return index > 0 ? Int(words[index - 1].filter(\.isNumber)) : nil
        }
        #expect((sent ?? 0) >= 32, "the summary counts the disk: \(summary)")
        // The end's event comes before the summary, not after it.
        let completedEvent = rows.lastIndex { $0.contains("[MIGRATION status=completed]") }
        let summaryRow = rows.lastIndex { $0.contains("Migration completed in") }
        #expect(completedEvent != nil && summaryRow != nil && completedEvent! < summaryRow!, "\(term.screenText)")
    }

    @Test func aStoppedQEMUDoesNotHoldThePrompt() throws {
        let setup = try start(.v7_2, diskMiB: 32)
        defer { setup.close() }
        let term = setup.term
        try typeLine(term, "migrate_set_parameter max-bandwidth 4M")
        try typeLine(term, "migrate -b tcp:127.0.0.1:\(setup.port)")
        #expect(term.waitFor { $0.contains("MiB left") }, "\(term.screenText)")
        kill(setup.source.pid, SIGSTOP)
        usleep(500_000)
        try term.press("C-c")
        usleep(2_500_000)
        try term.press("C-c")
        #expect(term.waitFor { $0.contains("hmp stops waiting") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        kill(setup.source.pid, SIGCONT)
        #expect(term.waitFor(timeout: 20) { $0.contains("Migration cancelled") }, "\(term.screenText)")
    }
}
