import Foundation
import Testing
import TestSupport

/// A synchronous migration at a real terminal (tmux): the pinned status line, type-ahead, the summary, ^C, ^Z,
/// -d, a resize, and a dumb terminal. The destination is a second hmp on a pipe.
@Suite(.serialized) struct TerminalMigrationTests {
    let scratch = TempDir()

    /// A destination listening, and a source at a terminal with 64 MiB of RAM and a 64 MiB disk, throttled so
    /// the migration lasts a few seconds.
    func start(width: Int = 100, height: Int = 14, term: String = "xterm-256color", bandwidth: String = "16M")
        throws -> (TerminalSession, HMPProcess, Int)
    {
        let port = freePort()
        let copy = scratch.file("copy.img")
        try Data(count: 64 << 20).write(to: URL(fileURLWithPath: copy))
        let destination = try HMPProcess(["-m", "64", "-S", "-incoming", "tcp:127.0.0.1:\(port)",
                                          "-drive", "file=\(copy),id=drive0"])
        _ = destination.run("info status")
        let disk = scratch.patternFile("disk.img", size: 64 << 20, seed: 3)
        let home = try scratch.directory("home")
        let term = try TerminalSession(
            "\(hmpBinary) -m 64 -drive file=\(disk),id=drive0 -workload ram=4M,disk=1M",
            width: width, height: height, environment: ["HOME": home, "TERM": term])
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("migrate_set_parameter max-bandwidth \(bandwidth)")
        try term.press("Enter")
        #expect(term.waitForCursorLine("(qemu) "))
        return (term, destination, port)
    }

    func bottomRow(_ term: TerminalSession) -> String {
        ((try? term.screen()) ?? []).dropLast().last ?? ""
    }

    /// The pinned status line leads with the whole migration's progress: `37 % …`.
    func isStatusLine(_ row: String) -> Bool {
        row.range(of: #"^Completed [0-9]+ %"#, options: .regularExpression) != nil
    }

    @Test func statusLineShowsProgressAndTypeAheadRunsAfter() throws {
        let (term, destination, port) = try start()
        defer { term.close(); destination.close() }
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { _ in isStatusLine(bottomRow(term)) }, "\(term.screenText)")
        let first = bottomRow(term)
        #expect(first.contains("RAM ") && first.contains("disk ") && first.contains("MiB left"), "\(first)")
        #expect(term.screenText.contains(MigrationKeys.introduction), "the keys are said once, before the line")
        #expect(!term.cursorLineIs("(qemu) "), "no prompt while the monitor is suspended")
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor(timeout: 5) { _ in bottomRow(term) != first }, "the line is redrawn: \(first)")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed in ") }, "\(term.screenText)")
        #expect(term.waitFor { $0.contains("VM status: paused (postmigrate)") }, "type-ahead ran after: \(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        #expect(bottomRow(term).trimmingCharacters(in: .whitespaces).isEmpty || term.cursorLineIs("(qemu) "),
                "the status line is gone")
        #expect(!term.screenText.contains("^C cancel, ^Z detach"), "\(term.screenText)")
    }

    /// A guest paused before the migration stays paused after ^C, and the summary says so.
    @Test func ctrlCOnAPausedGuestSaysItIsStillPaused() throws {
        let (term, destination, port) = try start(bandwidth: "4M")
        defer { term.close(); destination.close() }
        try term.type("stop")
        try term.press("Enter")
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { _ in isStatusLine(bottomRow(term)) })
        try term.press("C-c")
        #expect(term.waitFor { $0.contains("Migration cancelled; the guest is still paused here") }, "\(term.screenText)")
        #expect(!term.screenText.contains("keeps running"), "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused") })
    }

    @Test func ctrlCCancelsAndTheGuestRunsOn() throws {
        let (term, destination, port) = try start(bandwidth: "4M")
        defer { term.close(); destination.close() }
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { _ in isStatusLine(bottomRow(term)) })
        try term.press("C-c")
        #expect(term.waitFor { $0.contains("Migration cancelled; the guest keeps running here") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: running") })
    }

    @Test func ctrlZDetachesAndTheEndDoesNotGarbleTheLineBeingTyped() throws {
        let (term, destination, port) = try start(bandwidth: "32M")
        defer { term.close(); destination.close() }
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { _ in isStatusLine(bottomRow(term)) })
        try term.press("C-z")
        #expect(term.waitFor { $0.contains("Migration continues in the background") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("info sta")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed in ") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) info sta"), "the half-typed line is drawn again: \(term.screenText)")
        try term.type("tus")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused (postmigrate)") })
    }

    @Test func detachFlagReturnsThePromptAtOnce() throws {
        let (term, destination, port) = try start(bandwidth: "32M")
        defer { term.close(); destination.close() }
        try term.type("migrate -d -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("info na")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed in ") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) info na"), "\(term.screenText)")
    }

    @Test func resizeRedrawsTheStatusLineToTheNewWidth() throws {
        let (term, destination, port) = try start(bandwidth: "8M")
        defer { term.close(); destination.close() }
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { _ in bottomRow(term).count > 70 }, "\(term.screenText)")
        try term.tmux(["resize-window", "-t", term.name, "-x", "50", "-y", "14"])
        #expect(term.waitFor(timeout: 5) { _ in
            let row = bottomRow(term)
            return isStatusLine(row) && row.count <= 49
        }, "\(term.screenText)")
        try term.press("C-c")
        #expect(term.waitForCursorLine("(qemu) "))
    }

    @Test func dumbTerminalGetsAPlainLine() throws {
        let (term, destination, port) = try start(term: "dumb", bandwidth: "32M")
        defer { term.close(); destination.close() }
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("Completed ") && $0.contains("RAM ") }, "\(term.screenText)")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed in ") }, "\(term.screenText)")
    }
}

/// The status line's own words, as the tests read them.
enum MigrationKeys {
    static let introduction = "Migrating: ^C cancels it, ^Z detaches (it goes on; info migrate shows it)"
}
