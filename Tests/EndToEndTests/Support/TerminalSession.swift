import Foundation

/// hmp in a real terminal: a tmux session of fixed size, typed at with send-keys and read with capture-pane.
final class TerminalSession {
    let socket: String
    let name = "hmp"

    /// Starts `command` (a shell command line) in a new tmux server of its own, `width` × `height`.
    init(_ command: String, width: Int = 100, height: Int = 30, environment: [String: String] = [:]) throws {
        socket = "hmp-test-" + UUID().uuidString.prefix(8)
        let exports = environment.map { "export \($0.key)='\($0.value)';" }.joined(separator: " ")
        try tmux(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height),
                  "TERM=xterm-256color; \(exports) exec \(command)"])
    }

    deinit { _ = try? tmux(["kill-server"]) }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux", "-L", socket] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
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
