public import Foundation
import Platform

/// hmp in a real terminal: a tmux session of fixed size, typed at with send-keys and read with capture-pane.
public final class TerminalSession {
    public let socket: String
    public let name = "hmp"

    /// Starts `command` (a shell command line) in a new tmux server of its own, `width` × `height`.
    public init(_ command: String, width: Int = 100, height: Int = 30, environment: [String: String] = [:]) throws {
        socket = "hmp-test-" + UUID().uuidString.prefix(8)
        let exports = environment.map { "export \($0.key)='\($0.value)';" }.joined(separator: " ")
        Leftovers.add(tmuxSocket: socket)
        let term = environment["TERM"] ?? "xterm-256color"
        try tmux(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height),
                  "TERM=\(term); \(exports) exec \(command)"], capture: false)
    }

    deinit { close() }

    /// Ends hmp and the tmux server. kill-server alone is not enough here: the server can outlive it while the
    /// program in its pane runs, so both are killed by their pids.
    public func close() {
        let pids = ((try? tmux(["display-message", "-p", "-t", name, "#{pane_pid} #{pid}"])) ?? "")
            .split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
        _ = try? tmux(["kill-server"], capture: false)
        for pid in pids { kill(pid, SIGKILL) }
        Leftovers.remove(tmuxSocket: socket)
    }

    /// Runs a tmux command and returns what it printed. posix_spawn and waitpid rather than Foundation's
    /// Process, which can miss the exit of a child as short-lived as a tmux client; the output goes through a
    /// file, not a pipe, since a process spawned meanwhile by another test (a tmux server that lives on) could
    /// inherit a pipe's write end and keep it open.
    @discardableResult
    public func tmux(_ arguments: [String], capture: Bool = true) throws -> String {
        let argv = ["tmux", "-L", socket] + arguments
        let outputPath = capture ? NSTemporaryDirectory() + "tmux-out-" + UUID().uuidString : "/dev/null"
        defer { if capture { unlink(outputPath) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let result = posix_spawnp(&pid, "tmux", &actions, nil, cArguments, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .ENOENT) }
        var status: Int32 = 0
        _ = retryingInterrupts { waitpid(pid, &status, 0) }
        guard capture, let data = FileManager.default.contents(atPath: outputPath) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Types text literally.
    public func type(_ text: String) throws {
        try tmux(["send-keys", "-t", name, "-l", text])
    }

    /// Presses keys by tmux name: `Enter`, `Tab`, `C-c`, `C-d`, `Up`.
    public func press(_ keys: String...) throws {
        try tmux(["send-keys", "-t", name] + keys)
    }

    /// The visible screen, one string per row, trailing spaces removed.
    public func screen() throws -> [String] {
        try tmux(["capture-pane", "-p", "-t", name]).components(separatedBy: "\n")
    }

    public var screenText: String { ((try? screen()) ?? []).joined(separator: "\n") }

    /// Waits until the screen satisfies `condition`; returns whether it did.
    @discardableResult
    public func waitFor(timeout: TimeInterval = 10, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(screenText) { return true }
            usleep(20_000)
        }
        return condition(screenText)
    }

    /// The cursor's column, 0-based: capture-pane drops trailing spaces, so this is how a test sees them.
    public var cursorColumn: Int {
        Int(((try? tmux(["display-message", "-p", "-t", name, "#{cursor_x}"])) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Whether the row the cursor is on reads `text` and the cursor stands right after it (trailing spaces count).
    public func cursorLineIs(_ text: String) -> Bool {
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
    public func waitForCursorLine(_ text: String, timeout: TimeInterval = 10) -> Bool {
        waitFor(timeout: timeout) { _ in cursorLineIs(text) }
    }

    /// The last non-empty row on the screen.
    public var lastLine: String {
        ((try? screen()) ?? []).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? ""
    }

    /// Whether the program in the pane has exited (the pane is gone with it).
    public var hasExited: Bool {
        let out = (try? tmux(["list-panes", "-t", name, "-F", "#{pane_dead}"])) ?? ""
        return out.isEmpty || out.contains("1") || out.contains("no server") || out.contains("can't find")
    }
}
