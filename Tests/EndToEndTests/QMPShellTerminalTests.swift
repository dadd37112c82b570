import Foundation
import Testing
import TestSupport

/// QEMU's own `qmp-shell` (from qemu.qmp, in .build/test-venv) used as a person would, in a tmux pane, against
/// hmp's QMP server: checked by what it prints.
@Suite(.serialized)
struct QMPShellTerminalTests {
    @Test func qmpShellDrivesHMP() throws {
        let python = try #require(QEMUQMPClientTests.python, "qemu.qmp is not installed in .build/test-venv: run scripts/install-deps test")
        let shell = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("qmp-shell").path
        #expect(FileManager.default.isExecutableFile(atPath: shell), "\(shell)")
        let scratch = TempDir()
        let socket = scratch.file("q.sock")
        let hmp = try HMPProcess(["-m", "64", "-S", "-monitor", "none", "-qmp", "unix:\(socket),server=on,wait=off"])
        defer { hmp.close() }
        _ = try RawQMPClient(path: socket)
        let terminal = try TerminalSession("\(shell) \(socket)", width: 200, height: 40)
        defer { terminal.close() }
        // Long replies wrap at the pane's width: read the rows run together.
        let text = { terminal.screenText.replacingOccurrences(of: "\n", with: "") }
        #expect(terminal.waitFor { $0.contains("Connected to QEMU 7.2.22") && terminal.lastLine.hasPrefix("(QEMU)") },
                "\(terminal.screenText)")
        try terminal.type("query-status")
        try terminal.press("Enter")
        #expect(terminal.waitFor { $0.contains(#"{"return": {"status": "prelaunch", "singlestep": false, "running": false}}"#) },
                "\(terminal.screenText)")
        try terminal.type("migrate-set-parameters max-bandwidth=1000")
        try terminal.press("Enter")
        // Each line typed once the shell has answered the last, as a person would (typed ahead, it echoes early).
        #expect(terminal.waitFor { _ in text().contains(#"max-bandwidth=1000{"return": {}}(QEMU)"#) }, "\(terminal.screenText)")
        try terminal.type("query-migrate-parameters")
        try terminal.press("Enter")
        #expect(terminal.waitFor { _ in text().contains(#""max-bandwidth": 1000, "x-checkpoint-delay": 20000"#) },
                "\(terminal.screenText)")
        #expect(text().contains(#"(QEMU) migrate-set-parameters max-bandwidth=1000{"return": {}}(QEMU) query-migrate-parameters{"return": {"cpu-throttle-tailslow": false, "#),
                "\(terminal.screenText)")
        try terminal.type("nosuch-command")
        try terminal.press("Enter")
        #expect(terminal.waitFor { $0.contains(#"{"error": {"class": "CommandNotFound", "desc": "The command nosuch-command has not been found"}}"#) },
                "\(terminal.screenText)")
        try terminal.type("quit")
        try terminal.press("Enter")
        #expect(hmp.waitForExit() == 0)
    }
}
