import Foundation
import Testing
import TestSupport

/// `--demo-destination`, the demo's way of migrating again and again: at a real terminal (tmux), two migrations
/// in a row to the same address, each checked byte for byte on the destination that received it, and a
/// destination killed behind the demo's back, which the prompt hears of.
@Suite(.serialized) struct DemoDestinationTests {
    let scratch = TempDir()

    /// The first monitor path the screen names after `after`.
    func monitorPath(in text: String, after marker: String) -> String? {
        guard let range = text.range(of: marker, options: .backwards) else { return nil }
        let rest = text[range.upperBound...].prefix { !$0.isWhitespace && $0 != ")" && $0 != ";" }
        return rest.isEmpty ? nil : String(rest)
    }

    /// Clears the screen, so that what the migration says is then all on it, and migrates to the demo's destination.
    func migrate(_ term: TerminalSession, port: Int, _ context: String) throws {
        try term.press("C-l")
        #expect(term.waitFor { !$0.contains("Migration completed in ") })
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed in ") }, "\(context): \(term.screenText)")
    }

    @Test func theDemoMigratesAgainAndAgainAndSaysWhenItsDestinationDies() throws {
        let port = freePort()
        let disk = scratch.patternFile("disk.img", size: 8 << 20, seed: 9)
        let home = try scratch.directory("home")
        let term = try TerminalSession(
            "\(hmpBinary) -m 32 -drive file=\(disk),id=disk0 --demo-destination 127.0.0.1:\(port)",
            width: 200, height: 40, environment: ["HOME": home, "TMPDIR": scratch.path])
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        #expect(term.screenText.contains("listens on 127.0.0.1:\(port) only"), "\(term.screenText)")

        for round in 1...2 {
            try migrate(term, port: port, "round \(round)")
            #expect(term.waitFor { $0.contains("The guest arrived") },
                    "round \(round): \(term.screenText)")
            #expect(term.waitForCursorLine("(qemu) "))
            // The destination that received the guest is still up: its RAM and disk are the source's.
            let text = term.screenText
            guard let arrived = monitorPath(in: text, after: "The guest arrived at the demo's destination (monitor: ")
            else {
                Issue.record("no monitor named: \(text)")
                return
            }
            let client = try SocketClient(path: arrived)
            _ = client.readUntilPrompt()
            let theirs = scratch.file("dst-\(round).ram"), ours = scratch.file("src-\(round).ram")
            #expect(client.command("pmemsave 0 0x2000000 \"\(theirs)\"") == "")
            try term.type("pmemsave 0 0x2000000 \"\(ours)\"")
            try term.press("Enter")
            #expect(term.waitFor { _ in FileManager.default.fileExists(atPath: ours) })
            #expect(term.waitFor { _ in sameBytes(ours, theirs) }, "round \(round): RAM differs")
            let copy = arrived.replacingOccurrences(of: "destination-\(round).sock", with: "disk0-\(round).img")
            #expect(sameBytes(disk, copy), "round \(round): the disk differs")
        }

        // A destination killed behind the demo's back: the prompt says so and a fresh one listens.
        let text = term.screenText
        guard let pid = monitorPath(in: text, after: "a fresh destination listens on 127.0.0.1:\(port) (pid ") else {
            Issue.record("no pid named: \(text)")
            return
        }
        let killed = Process()
        killed.executableURL = URL(fileURLWithPath: "/bin/kill")
        killed.arguments = ["-KILL", pid]
        try killed.run()
        killed.waitUntilExit()
        #expect(killed.terminationStatus == 0, "kill \(pid)")
        #expect(term.waitFor { $0.contains("The demo's destination was killed by signal 9") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "), "the line being edited is drawn again")
        try migrate(term, port: port, "after the kill")
    }

    /// A port someone else holds: the demo says so once, with what to do, keeps trying with a growing pause, and
    /// once the port is free its destination listens and takes a migration.
    @Test func aTakenPortIsRetriedAndSaidOnce() throws {
        let port = freePort()
        let holder = try HMPProcess(["-m", "16", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { holder.close() }
        _ = holder.run("info status")
        let home = try scratch.directory("home")
        let term = try TerminalSession(
            "\(hmpBinary) -m 16 --demo-destination 127.0.0.1:\(port)",
            width: 200, height: 40, environment: ["HOME": home, "TMPDIR": scratch.path])
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        #expect(term.screenText.contains("(is 127.0.0.1:\(port) taken?)"), "\(term.screenText)")
        #expect(term.screenText.contains("--demo-destination 127.0.0.1:OTHER_PORT"), "\(term.screenText)")
        // A few retries fail (1 s, 2 s, ...) without a word each.
        Thread.sleep(forTimeInterval: 4)
        #expect(term.screenText.components(separatedBy: "taken?").count == 2, "said once: \(term.screenText)")
        holder.close()
        #expect(term.waitFor(timeout: 20) { $0.contains("listens on 127.0.0.1:\(port) now") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        try migrate(term, port: port, "after the port was freed")
    }
}
