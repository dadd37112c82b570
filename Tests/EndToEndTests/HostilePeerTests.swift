import Foundation
import Testing
import TestSupport

/// `hmp --connect` attached to a QMP peer that sends what no real QEMU would (FakeQMPPeer): figures at and
/// beyond the ends of their range, and strings full of control characters and escape sequences. hmp prints
/// every figure without trapping, stays alive, and no control character from the peer reaches the output.
@Suite(.serialized) struct HostilePeerTests {
    let scratch = TempDir()
    static let max = "18446744073709551615"

    /// query-migrate's reply with every figure at UInt64.max, `mbps` as given, and a disk whose transferred × 100
    /// overflows 64 bits.
    static func hugeFigures(mbps: String, status: String = "active", downtime: String = max) -> String {
        let m = max
        return #"{"expected-downtime": \#(m), "status": "\#(status)", "setup-time": \#(m), "total-time": \#(m), "#
            + #""downtime": \#(downtime), "#
            + #""ram": {"total": \#(m), "postcopy-requests": \#(m), "dirty-sync-count": \#(m), "multifd-bytes": \#(m), "#
            + #""pages-per-second": \#(m), "downtime-bytes": \#(m), "page-size": \#(m), "remaining": \#(m), "#
            + #""postcopy-bytes": \#(m), "mbps": \#(mbps), "transferred": \#(m), "dirty-sync-missed-zero-copy": \#(m), "#
            + #""precopy-bytes": \#(m), "duplicate": \#(m), "dirty-pages-rate": \#(m), "skipped": \#(m), "#
            + #""normal-bytes": \#(m), "normal": \#(m)}, "cpu-throttle-percentage": \#(m), "#
            + #""disk": {"transferred": 200000000000000000, "remaining": 1, "total": 400000000000000000}}"#
    }

    /// A failed migration whose error-desc would set the terminal's title and clear its screen.
    static let hostileFailure = #"{"status": "failed", "error-desc": "\u001b]0;pwned\u0007\u001b[2Jgone\u009b1;1H", "#
        + #""total-time": 5}"#
    static let hostileFailureText = "\\x1b]0;pwned\\x07\\x1b[2Jgone\\x9b1;1H"

    /// Whether `text` holds a control character other than a line end or a tab.
    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains {
            ($0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t") || (0x7F...0x9F).contains($0.value)
        }
    }

    func lines(_ output: String) -> [String] { output.components(separatedBy: "\n") }

    /// `migrate -b` on a pipe: QEMU's `Completed N %` from a disk whose transferred × 100 overflows 64 bits, then
    /// a failure whose description is full of escapes.
    @Test func synchronousBlockMigrationWithHugeFiguresThenAHostileError() throws {
        let reply = Shared(Self.hugeFigures(mbps: "1e17"))
        let peer = try FakeQMPPeer(directory: scratch.path) { command in
            command.name == "query-migrate" ? .returns(reply.value) : nil
        }
        defer { peer.close() }
        let hmp = try HMPProcess(["--connect", peer.address])
        defer { hmp.close() }
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
        hmp.send("migrate -b tcp:127.0.0.1:1")
        hmp.waitFor { $0.contains("Completed 50 %\r") }
        #expect(hmp.text.contains("Completed 50 %\r"), "\(hmp.text.debugDescription)\n\(hmp.errorText)")
        reply.value = Self.hostileFailure
        hmp.waitFor(timeout: 15) { $0.contains("Error: ") && $0.hasSuffix("(qemu) ") }
        #expect(hmp.text.contains("\nError: \(Self.hostileFailureText)\n(qemu) "), "\(hmp.text.debugDescription)")
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n", "hmp is still there")
        #expect(!Self.hasControl(hmp.text), "\(hmp.text.debugDescription)")
        #expect(peer.received.contains { $0.name == "migrate" && $0.arguments?.contains("\"blk\":true") == true })
        #expect(hmp.errorText == "")
    }

    /// A QMP error reply's `desc` and query-migrate's `error-desc`, each full of escapes, on a pipe.
    @Test func peerErrorsArePrintable() throws {
        let peer = try FakeQMPPeer(directory: scratch.path, replies: [
            "cont": .error(class: "GenericError", desc: "\u{1B}]0;pwned\u{07}\u{1B}[2Jboom"),
            "query-migrate": .returns(Self.hostileFailure),
        ])
        defer { peer.close() }
        let hmp = try HMPProcess(["--connect", peer.address])
        defer { hmp.close() }
        #expect(hmp.run("cont") == "Error: \\x1b]0;pwned\\x07\\x1b[2Jboom\n")
        // A detached migration that fails: as QEMU, nothing on the monitor; its error goes to stderr when it ends.
        #expect(hmp.run("migrate -d tcp:127.0.0.1:1") == "")
        let deadline = Date().addingTimeInterval(5)
        while !peer.received.contains(where: { $0.name == "query-migrate" }) && Date() < deadline { usleep(10_000) }
        usleep(300_000)
        let after = hmp.run("info status")
        #expect(after.hasSuffix("VM status: paused (prelaunch)\n"), "hmp is still there: \(after.debugDescription)")
        hmp.waitFor(timeout: 5) { _ in hmp.errorText.contains(Self.hostileFailureText) }
        #expect(hmp.errorText.contains(Self.hostileFailureText), "\(hmp.errorText.debugDescription)")
        #expect(!Self.hasControl(hmp.text), "\(hmp.text.debugDescription)")
        #expect(!Self.hasControl(hmp.errorText), "\(hmp.errorText.debugDescription)")
    }

    /// A flood of events with escapes on a pipe: they are not shown there, and hmp keeps answering.
    @Test func aFloodOfEventsOnAPipe() throws {
        let peer = try FakeQMPPeer(directory: scratch.path)
        defer { peer.close() }
        let hmp = try HMPProcess(["--connect", peer.address])
        defer { hmp.close() }
        #expect(peer.waitForNegotiation())
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
        for _ in 0..<10 {
            peer.flood(event: "EVIL\u{1B}[2J", data: #"{"x": "\u001b]0;pwned\u0007"}"#, count: 2000)
        }
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
        #expect(hmp.process.isRunning)
        #expect(!Self.hasControl(hmp.text), "\(hmp.text.suffix(500).debugDescription)")
    }

    /// The peer's script can close the connection instead of answering, or never answer: hmp ends with one line
    /// either way once the socket closes, and the peer's teardown does not wait for a reply it never sends.
    @Test func aPeerThatClosesOrStalls() throws {
        let closing = try FakeQMPPeer(directory: scratch.path, replies: ["cont": .close])
        defer { closing.close() }
        let first = try HMPProcess(["--connect", closing.address])
        defer { first.close() }
        #expect(first.run("info status") == "VM status: paused (prelaunch)\n")
        first.send("cont")
        #expect(first.waitForExit(timeout: 5) == 1, "\(first.text)\n\(first.errorText)")
        #expect(first.errorText.contains("closed the QMP connection"), "\(first.errorText)")

        let stallDirectory = scratch.file("stall")
        try FileManager.default.createDirectory(atPath: stallDirectory, withIntermediateDirectories: true)
        let stalling = try FakeQMPPeer(directory: stallDirectory, replies: ["cont": .stall])
        let second = try HMPProcess(["--connect", stalling.address])
        defer { second.close() }
        #expect(second.run("info status") == "VM status: paused (prelaunch)\n")
        second.send("cont")
        second.waitFor(timeout: 2) { _ in stalling.received.contains { $0.name == "cont" } }
        let started = Date()
        stalling.close()
        #expect(Date().timeIntervalSince(started) < 2, "teardown is prompt")
        #expect(second.waitForExit(timeout: 5) == 1, "\(second.text)\n\(second.errorText)")
        #expect(second.errorText.contains("closed the QMP connection"), "\(second.errorText)")
    }

    /// A peer that negotiates and then never answers: hmp does not hang at attach, it says which question went
    /// unanswered and exits 1; a peer that stalls on one command later gets that command's error, and the next
    /// command still works.
    @Test func aPeerThatStallsAtAttachOrOnOneCommand() throws {
        let atAttach = try FakeQMPPeer(directory: scratch.path, replies: ["query-commands": .stall])
        defer { atAttach.close() }
        let started = Date()
        let result = try runHMP(["--connect", atAttach.address], stdin: "info status\n", timeout: 30)
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(result.stderr.contains("did not answer query-commands within 10 s"), "\(result.stderr)")

        let oneDirectory = scratch.file("one")
        try FileManager.default.createDirectory(atPath: oneDirectory, withIntermediateDirectories: true)
        let once = try FakeQMPPeer(directory: oneDirectory, replies: ["stop": .stall])
        defer { once.close() }
        let hmp = try HMPProcess(["--connect", once.address])
        defer { hmp.close() }
        #expect(hmp.run("stop", timeout: 20) == "Error: QEMU at \(once.address) did not answer stop within 10 s\n")
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
    }

    /// With --connect, `info name`, `info block` and `info qtree` go through human-monitor-command.
    @Test
    func humanMonitorCommandOutputIsPrintable() throws {
        let peer = try FakeQMPPeer(directory: scratch.path) { command in
            switch command.argument("command-line") {
            case "info qtree": .returns(#""line 1\r\n\tTabbed\r\n\u001b]0;pwned\u0007\u001b[2Jend\r\n""#)
            case "info name": .returns(#""\u001b]0;pwned\u0007vm\u007f\r\n""#)
            case "info block": .returns(#""d\u001b[2J (node1\u0007): /p\u009b (raw)\r\n""#)
            default: nil
            }
        }
        defer { peer.close() }
        let hmp = try HMPProcess(["--connect", peer.address])
        defer { hmp.close() }
        #expect(hmp.run(["info qtree", "info name", "info block"]) == [
            "line 1\n\tTabbed\n\\x1b]0;pwned\\x07\\x1b[2Jend\n", "\\x1b]0;pwned\\x07vm\\x7f\n",
            "d\\x1b[2J (node1\\x07): /p\\x9b (raw)\n",
        ])
        #expect(!Self.hasControl(hmp.text), "\(hmp.text.debugDescription)")
    }

    @Test
    func greetingPackageIsPrintable() throws {
        let greeting = #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "#
            + #""package": "\u001b]0;pwned\u0007"}, "capabilities": ["oob"]}}"#
        let peer = try FakeQMPPeer(directory: scratch.path, greeting: greeting)
        defer { peer.close() }
        let hmp = try HMPProcess(["--connect", peer.address])
        defer { hmp.close() }
        _ = hmp.run("info status")
        #expect(!Self.hasControl(hmp.text), "\(hmp.text.debugDescription)")
    }

    // MARK: At a terminal

    /// hmp at a terminal on a fake QEMU whose query-migrate answers whatever `reply` holds (huge figures at
    /// first), at its prompt.
    func migrationFiguresAtATerminal() throws -> (Shared<String>, FakeQMPPeer, TerminalSession) {
        let reply = Shared(Self.hugeFigures(mbps: "1e17"))
        let peer = try FakeQMPPeer(directory: scratch.path) { command in
            command.name == "query-migrate" ? .returns(reply.value) : nil
        }
        let term: TerminalSession
        do { term = try terminal(peer) } catch {
            peer.close()
            throw error
        }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        return (reply, peer, term)
    }

    func terminal(_ peer: FakeQMPPeer) throws -> TerminalSession {
        let home = try scratch.directory("home")
        return try TerminalSession("\(hmpBinary) --connect \(peer.address)", width: 100, height: 30,
                                   environment: ["HOME": home])
    }

    /// The screen with wrapped rows joined, so that a long line reads whole.
    func joinedScreen(_ term: TerminalSession) -> String {
        (try? term.tmux(["capture-pane", "-p", "-J", "-t", term.name])) ?? ""
    }

    func title(_ term: TerminalSession) -> String {
        ((try? term.tmux(["display-message", "-p", "-t", term.name, "#{pane_title}"])) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The bytes hmp wrote to the terminal, as tmux's pipe-pane copies them.
    func startCapture(_ term: TerminalSession) throws -> String {
        let file = scratch.file("pane-\(UUID().uuidString.prefix(6)).raw")
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        try term.tmux(["pipe-pane", "-o", "-t", term.name, "cat >> '\(file)'"])
        return file
    }

    /// Each event line in the raw output: from `QEMU: ` to the end of its line.
    func eventLines(_ file: String) -> [[UInt8]] {
        let bytes = Array(FileManager.default.contents(atPath: file) ?? Data())
        let marker = Array("QEMU: ".utf8)
        var found: [[UInt8]] = []
        var index = 0
        while index + marker.count <= bytes.count {
            if Array(bytes[index..<index + marker.count]) == marker {
                let end = bytes[index...].firstIndex { $0 == 0x0A || $0 == 0x0D } ?? bytes.count
                found.append(Array(bytes[index..<end]))
                index = end
            } else {
                index += 1
            }
        }
        return found
    }

    @Test func eventsWithEscapesAtATerminal() throws {
        let peer = try FakeQMPPeer(directory: scratch.path)
        defer { peer.close() }
        let term = try terminal(peer)
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        #expect(peer.waitForNegotiation())
        let titleBefore = title(term)
        let capture = try startCapture(term)
        try term.type("info sta")
        #expect(term.waitForCursorLine("(qemu) info sta"))

        peer.push(event: "EVIL\u{1B}]0;pwned\u{07}\u{1B}[2J\u{1B}[H", data: #"{"msg": "\u001b[31mred\u009b1;1H\u007f"}"#)
        let shown = "QEMU: evil\\x1b]0;pwned\\x07\\x1b[2j\\x1b[h [EVIL\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H "
            + "msg=\\x1b[31mred\\x9b1;1H\\x7f]"
        #expect(term.waitFor { _ in joinedScreen(term).contains(shown) }, "\(joinedScreen(term))")
        #expect(term.screenText.contains("attached to QEMU 7.2"), "the screen was not cleared: \(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) info sta"), "the line being typed is kept: \(term.screenText)")
        #expect(!title(term).contains("pwned") && title(term) == titleBefore, "\(title(term))")

        // The flood: hmp shows them all and keeps the prompt.
        peer.flood(event: "FLOOD\u{1B}[2J", data: #"{"n": "\u001b]0;pwned\u0007"}"#, count: 300)
        #expect(term.waitFor { _ in
            joinedScreen(term).contains("QEMU: flood\\x1b[2j [FLOOD\\x1b[2J n=\\x1b]0;pwned\\x07]")
        }, "\(joinedScreen(term))")
        try term.press("C-u")
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused (prelaunch)") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        #expect(!title(term).contains("pwned"), "\(title(term))")

        let events = eventLines(capture)
        #expect(events.count >= 301, "\(events.count)")
        for line in events {
            let text = String(decoding: line, as: UTF8.self)
            #expect(!line.contains { $0 < 0x20 || $0 == 0x7F }, "\(text.debugDescription)")
            #expect(!Self.hasControl(text), "\(text.debugDescription)")
            #expect(text.hasSuffix("]"), "the whole event is on its line: \(text.debugDescription)")
        }
    }

    /// Synchronous migrations at a terminal, one for each kind of figure out of range: the status line is drawn
    /// from them, and the summary of the completed migration computes seconds, MiB and a rate from them.
    @Test func statusLinesAndSummariesWithFiguresOutOfRange() throws {
        let (reply, peer, term) = try migrationFiguresAtATerminal()
        defer {
            term.close()
            peer.close()
        }
        let bottom = { ((try? term.screen()) ?? []).dropLast().last ?? "" }
        let odd = #"{"status": "STATUS", "total-time": -1, "setup-time": 1e999, "downtime": DOWNTIME, "#
            + #""ram": {"transferred": -1, "remaining": 18446744073709551616, "total": "x", "mbps": null, "#
            + #""dirty-sync-count": 1e999, "page-size": -4096, "dirty-pages-rate": 1e300}, "#
            + #""disk": {"transferred": 1e999, "remaining": -1, "total": 0.5}}"#
        let variants: [(String, (String) -> String)] = [
            ("1e17", { Self.hugeFigures(mbps: "1e17", status: $0, downtime: "1001") }),
            ("1e999", { Self.hugeFigures(mbps: "1e999", status: $0, downtime: "1002") }),
            ("-1e999", { Self.hugeFigures(mbps: "-1e999", status: $0, downtime: "1003") }),
            ("-5", { Self.hugeFigures(mbps: "-5", status: $0, downtime: "1004") }),
            ("uint64 max", { Self.hugeFigures(mbps: Self.max, status: $0, downtime: "1005") }),
            ("largest double", { Self.hugeFigures(mbps: "1.7976931348623157e308", status: $0, downtime: "1006") }),
            ("not numbers", {
                odd.replacingOccurrences(of: "STATUS", with: $0).replacingOccurrences(of: "DOWNTIME", with: "1007")
            }),
        ]
        for (index, (name, figures)) in variants.enumerated() {
            reply.value = figures("active")
            try term.type("migrate -b tcp:127.0.0.1:1")
            try term.press("Enter")
            // Figures that are not numbers read as none: the line then says what it waits for.
            #expect(term.waitFor { _ in bottom().contains("MiB left") || bottom().hasPrefix("sizing the disks") },
                    "\(name): \(term.screenText)")
            #expect(!Self.hasControl(bottom()))
            reply.value = figures("completed")
            #expect(term.waitFor(timeout: 15) { _ in
                joinedScreen(term).contains("Migration completed in ") && joinedScreen(term).contains("downtime \(1001 + index) ms")
            }, "\(name): \(joinedScreen(term))")
            #expect(term.waitForCursorLine("(qemu) "), "\(name): \(term.screenText)")
        }
        #expect(!term.hasExited)
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused (prelaunch)") }, "\(term.screenText)")
        #expect(peer.received.filter { $0.name == "migrate" }.count == variants.count)
    }

    /// The status line of a synchronous migrate at a terminal, fed figures at UInt64.max, then a failure with
    /// escapes in its description.
    @Test func statusLineWithHugeFiguresThenAHostileFailure() throws {
        let (reply, peer, term) = try migrationFiguresAtATerminal()
        defer {
            term.close()
            peer.close()
        }
        let titleBefore = title(term)
        try term.type("migrate -b tcp:127.0.0.1:1")
        try term.press("Enter")
        let bottom = { ((try? term.screen()) ?? []).dropLast().last ?? "" }
        #expect(term.waitFor { _ in bottom().hasPrefix("Completed 0 %") }, "RAM remaining is all of it: \(term.screenText)")
        usleep(1_500_000)
        #expect(!term.hasExited, "\(term.screenText)")
        reply.value = Self.hostileFailure
        #expect(term.waitFor(timeout: 15) { _ in
            joinedScreen(term).contains(
                "Migration failed: \(Self.hostileFailureText); the guest is still paused here (prelaunch)")
        }, "\(joinedScreen(term))")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        #expect(title(term) == titleBefore, "\(title(term))")
        try term.type("info status")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("VM status: paused (prelaunch)") }, "\(term.screenText)")
    }
}
