import Foundation
import Testing
import TestSupport

/// A person at a real terminal (tmux): the prompt, line editing, completion, history, Ctrl-C and Ctrl-D.
@Suite(.serialized) struct TerminalTests {
    let scratch = TempDir()

    func start(_ arguments: String = "-m 16") throws -> TerminalSession {
        let home = try scratch.directory("home")
        let session = try TerminalSession(
            "\(hmpBinary) \(arguments)", environment: ["HOME": home, "XDG_STATE_HOME": "", "EDITRC": home + "/.editrc"])
        #expect(session.waitForCursorLine("(qemu) "), "the prompt appears: \(session.screenText)")
        return session
    }

    @Test func promptRunsCommands() throws {
        let term = try start()
        defer { term.close() }
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: running") })
        #expect(term.waitForCursorLine("(qemu) "), "a new prompt follows the answer")
    }

    @Test func tabCompletesCommandsSubcommandsAndValues() throws {
        let term = try start("-m 16 -drive file=\(scratch.patternFile("disk.img", size: 65536))")
        defer { term.close() }
        try term.type("info sta")
        try term.press("Tab")
        #expect(term.waitForCursorLine("(qemu) info status "), "\(term.screenText)")
        try term.press("C-u")
        try term.type("migrate_set_capability xbz")
        try term.press("Tab")
        #expect(term.waitForCursorLine("(qemu) migrate_set_capability xbzrle "), "\(term.screenText)")
        try term.type("o")
        try term.press("Tab")
        // `o` is the common start of on and off: both are listed.
        #expect(term.waitFor { $0.contains("off       on") }, "\(term.screenText)")
        try term.press("C-u")
        try term.type("migrate -d t")
        try term.press("Tab")
        #expect(term.waitForCursorLine("(qemu) migrate -d tcp:"), "\(term.screenText)")
        try term.press("C-u")
        try term.type("info block dr")
        try term.press("Tab")
        #expect(term.waitForCursorLine("(qemu) info block drive0 "), "\(term.screenText)")
    }

    /// Tab after `pmemsave ADDR SIZE` inserts the file name quoted, since unquoted `/tmp/...` would be divided.
    @Test func tabQuotesAFileNameTheParserWouldDivide() throws {
        let directory = scratch.file("dumps")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/ram1.bin", contents: Data())
        let term = try start()
        defer { term.close() }
        try term.type("pmemsave 0 4096 \(directory)/ra")
        try term.press("Tab")
        #expect(term.waitForCursorLine("(qemu) pmemsave 0 4096 \"\(directory)/ram1.bin\" "), "\(term.screenText)")
        try term.press("Enter")
        #expect(term.waitFor { _ in (try? FileManager.default.attributesOfItem(atPath: directory + "/ram1.bin"))?[.size] as? Int == 4096 },
                "the completed line parses and pmemsave writes 4096 bytes: \(term.screenText)")
        #expect(!term.screenText.contains("invalid char"))
    }

    @Test func historySurvivesARestartAndCtrlRFindsIt() throws {
        var term = try start()
        defer { term.close() }
        try term.type("info name")
        try term.press("Enter")
        try term.type("quit")
        try term.press("Enter")
        #expect(term.waitFor { _ in term.hasExited })
        term.close()
        term = try start()
        // Ctrl-R searches back through what the last run typed; Enter runs what it found.
        try term.press("C-r")
        try term.type("nam")
        #expect(term.waitFor { $0.contains("(qemu) info name") && $0.contains("bck:nam") }, "\(term.screenText)")
        try term.press("Enter")
        try term.type("info history")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("0: 'quit'\n1: 'info name'\n2: 'info history'") }, "\(term.screenText)")
        try term.press("Up")
        #expect(term.waitForCursorLine("(qemu) info history"), "\(term.screenText)")
        try term.press("Up")
        #expect(term.waitForCursorLine("(qemu) info name"), "\(term.screenText)")
    }

    @Test func ctrlCClearsTheLineAndCtrlDQuits() throws {
        let term = try start()
        defer { term.close() }
        try term.type("info sta")
        // As a person sees the echo before pressing ^C: the terminal driver discards output not yet read by the
        // terminal when it turns ^C into SIGINT, so a ^C sent at once may erase the echo on a loaded machine.
        #expect(term.waitForCursorLine("(qemu) info sta"), "\(term.screenText)")
        try term.press("C-c")
        #expect(term.waitFor { $0.contains("info sta^C") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: running") }, "the next line runs as typed")
        try term.press("C-d")
        #expect(term.waitFor { _ in term.hasExited }, "Ctrl-D on an empty line quits")
    }

    @Test func editrcCanSwitchToViMode() throws {
        let home = try scratch.directory("home")
        try "bind -v\n".write(toFile: home + "/.editrc", atomically: true, encoding: .utf8)
        let term = try start()
        defer { term.close() }
        // In vi mode, Escape enters command mode, where 0 goes to the start and x deletes a character.
        try term.type("xinfo status")
        try term.press("Escape")
        try term.type("0x")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: running") }, "\(term.screenText)")
    }
}
