import Foundation

/// hmp in a real terminal: a tmux session of fixed size, typed at with send-keys and read with capture-pane.
final class TerminalSession {
    let socket: String
    let name = "hmp"

    /// Starts `command` (a shell command line) in a new tmux server of its own, `width` × `height`.
    init(_ command: String, width: Int = 100, height: Int = 30, environment: [String: String] = [:]) throws {
        socket = "hmp-test-" + UUID().uuidString.prefix(8)
        let exports = environment.map { "export \($0.key)='\($0.value)';" }.joined(separator: " ")
        let term = environment["TERM"] ?? "xterm-256color"
        try tmux(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height),
                  "TERM=\(term); \(exports) exec \(command)"], capture: false)
    }

    deinit { _ = try? tmux(["kill-server"], capture: false) }

    /// Runs a tmux command and returns what it printed. posix_spawn and waitpid rather than Foundation's
    /// Process, which can miss the exit of a child as short-lived as a tmux client. The command that starts the
    /// server must not capture: the server would inherit the pipe and hold it open for as long as it lives.
    @discardableResult
    func tmux(_ arguments: [String], capture: Bool = true) throws -> String {
        let argv = ["tmux", "-L", socket] + arguments
        var pipeFDs: [Int32] = [-1, -1]
        if capture { guard pipe(&pipeFDs) == 0 else { throw POSIXError(.EMFILE) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if capture {
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
            posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let result = posix_spawnp(&pid, "tmux", &actions, nil, cArguments, environ)
        if capture { close(pipeFDs[1]) }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .ENOENT) }
        var output = [UInt8]()
        if capture {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(pipeFDs[0], &buffer, buffer.count)
                if n <= 0 { break }
                output.append(contentsOf: buffer[0..<n])
            }
            close(pipeFDs[0])
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return String(decoding: output, as: UTF8.self)
    }

    /// Types text literally.
    func type(_ text: String) throws {
        try tmux(["send-keys", "-t", name, "-l", text])
    }

    /// Presses keys by tmux name: `Enter`, `Tab`, `C-c`, `C-d`, `Up`.
    func press(_ keys: String...) throws {
        try tmux(["send-keys", "-t", name] + keys)
    }

    /// The visible screen, one string per row, trailing spaces removed.
    func screen() throws -> [String] {
        try tmux(["capture-pane", "-p", "-t", name]).components(separatedBy: "\n")
    }

    var screenText: String { ((try? screen()) ?? []).joined(separator: "\n") }

    /// Waits until the screen satisfies `condition`; returns whether it did.
    @discardableResult
    func waitFor(timeout: TimeInterval = 10, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(screenText) { return true }
            usleep(20_000)
        }
        return condition(screenText)
    }

    /// The cursor's column, 0-based: capture-pane drops trailing spaces, so this is how a test sees them.
    var cursorColumn: Int {
        Int(((try? tmux(["display-message", "-p", "-t", name, "#{cursor_x}"])) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Whether the row the cursor is on reads `text` and the cursor stands right after it (trailing spaces count).
    func cursorLineIs(_ text: String) -> Bool {
        let row = Int(((try? tmux(["display-message", "-p", "-t", name, "#{cursor_y}"])) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        let rows = (try? screen()) ?? []
        guard row >= 0, row < rows.count else { return false }
        let trimmed = text.replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        return rows[row].replacingOccurrences(of: " +$", with: "", options: .regularExpression) == trimmed
            && cursorColumn == text.count
    }

    /// Waits until the cursor's row reads `text` with the cursor after it.
    @discardableResult
    func waitForCursorLine(_ text: String, timeout: TimeInterval = 10) -> Bool {
        waitFor(timeout: timeout) { _ in cursorLineIs(text) }
    }

    /// The last non-empty row on the screen.
    var lastLine: String {
        ((try? screen()) ?? []).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? ""
    }

    /// Whether the program in the pane has exited (the pane is gone with it).
    var hasExited: Bool {
        let out = (try? tmux(["list-panes", "-t", name, "-F", "#{pane_dead}"])) ?? ""
        return out.isEmpty || out.contains("1") || out.contains("no server") || out.contains("can't find")
    }
}
