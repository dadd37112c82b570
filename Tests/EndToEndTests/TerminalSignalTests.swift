import Foundation
import Testing
import TestSupport

/// hmp at a real terminal (tmux) ended by SIGTERM, at the prompt and during a synchronous migration, or by `quit`
/// on the socket monitor beside it: it leaves the terminal as it found it (termios, no scroll region), says why on
/// stderr, and exits 0.
@Suite(.serialized) struct TerminalSignalTests {
    let scratch = TempDir()
    static let height = 14

    /// hmp in a shell script that, once hmp is gone, records `stty -a` and its status, then prints 40 lines (which
    /// scroll through the whole screen only if no scroll region was left behind) and stays.
    func terminal(_ arguments: String) throws -> TerminalSession {
        let script = scratch.file("run.sh")
        let home = try scratch.directory("home")
        try """
            \(hmpBinary) \(arguments) 2>\(scratch.file("stderr"))
            status=$?
            stty -a >\(scratch.file("stty"))
            echo "status=$status" >\(scratch.file("status"))
            i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "line$i"; done
            exec sleep 600
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let term = try TerminalSession("sh \(script)", width: 100, height: Self.height, environment: ["HOME": home])
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        return term
    }

    func contents(_ name: String) -> String {
        (try? String(contentsOfFile: scratch.file(name), encoding: .utf8)) ?? ""
    }

    /// hmp's pid: the shell's only child in the pane.
    func hmpPID(_ term: TerminalSession) throws -> pid_t {
        let shell = try term.tmux(["display-message", "-p", "-t", term.name, "#{pane_pid}"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        return pid_t(children.split(separator: " ").first ?? "") ?? -1
    }

    /// After hmp: status 0, termios back to canonical with echo, and the 40 lines scrolled through the whole screen.
    func expectTerminalRestored(_ term: TerminalSession, _ pid: pid_t) throws {
        #expect(term.waitFor { _ in contents("status").contains("status=") }, "hmp did not end: \(term.screenText)")
        #expect(kill(pid, 0) != 0, "hmp is gone")
        #expect(contents("status").contains("status=0"))
        let stty = contents("stty")
        #expect(stty.contains(" icanon") && !stty.contains("-icanon"), "\(stty)")
        #expect(stty.contains(" echo ") && !stty.contains("-echo "), "\(stty)")
        #expect(term.waitFor { _ in term.lastLine == "line40" }, "\(term.screenText)")
        let screen = try term.screen()
        #expect(screen[Self.height - 2] == "line40", "the last line scrolled to the row above the cursor: \(screen)")
        let region = try term.tmux(["display-message", "-p", "-t", term.name, "#{scroll_region_upper} #{scroll_region_lower}"])
        #expect(region.trimmingCharacters(in: .whitespacesAndNewlines) == "0 \(Self.height - 1)", "scroll region: \(region)")
    }

    @Test func sigtermAtThePromptRestoresTheTerminal() throws {
        let term = try terminal("-m 64")
        defer { term.close() }
        try term.type("info sta")
        let pid = try hmpPID(term)
        #expect(pid > 0)
        kill(pid, SIGTERM)
        try expectTerminalRestored(term, pid)
        #expect(contents("stderr").contains("hmp: terminating on signal 15 from pid \(getpid()) ("), "\(contents("stderr"))")
    }

    /// A destination that takes the stream slowly: the source's workload dirties RAM faster than 1 MB/s goes out.
    func slowDestination() throws -> (HMPProcess, Int) {
        let port = freePort()
        let destination = try HMPProcess(["-m", "256", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        _ = destination.run("info status")
        return (destination, port)
    }

    func startSynchronousMigration(_ term: TerminalSession, port: Int) throws {
        try term.type("migrate_set_parameter max-bandwidth 1M")
        try term.press("Enter")
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("migrate tcp:127.0.0.1:\(port)")
        try term.press("Enter")
        #expect(term.waitFor { $0.contains("^C cancel") }, "the status line: \(term.screenText)")
        usleep(500_000)
    }

    @Test func sigtermDuringASynchronousMigrationRestoresTheTerminalAndFailsTheDestination() throws {
        let (destination, port) = try slowDestination()
        defer { destination.close() }
        let term = try terminal("-m 256 -workload ram=8M")
        defer { term.close() }
        try startSynchronousMigration(term, port: port)
        let pid = try hmpPID(term)
        kill(pid, SIGTERM)
        try expectTerminalRestored(term, pid)
        #expect(contents("stderr").contains("hmp: terminating on signal 15 from pid \(getpid()) ("), "\(contents("stderr"))")
        #expect(!term.screenText.contains("^C cancel"), "the status line is gone: \(term.screenText)")
        #expect(destination.waitForExit(timeout: 10) == 1, "\(destination.errorText)")
        #expect(destination.errorText.contains("load of migration failed"), "\(destination.errorText)")
    }

    @Test func quitOnTheSocketMonitorDuringASynchronousMigrationEndsHMP() throws {
        let (destination, port) = try slowDestination()
        defer { destination.close() }
        let socket = scratch.file("monitor.sock")
        let term = try terminal("-m 256 -workload ram=8M -monitor stdio -monitor unix:\(socket),server=on,wait=off")
        defer { term.close() }
        try startSynchronousMigration(term, port: port)
        let pid = try hmpPID(term)
        let client = try SocketClient(path: socket)
        _ = client.readUntilPrompt()
        client.send("quit")
        try expectTerminalRestored(term, pid)
        #expect(!contents("stderr").contains("terminating"), "no signal ended it: \(contents("stderr"))")
        #expect(destination.waitForExit(timeout: 10) == 1, "\(destination.errorText)")
    }
}
