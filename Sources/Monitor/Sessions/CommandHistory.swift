import Glibc

/// The lines a monitor has run, as `info history` shows them: a repeated line moves to the end, as QEMU's
/// readline does. The terminal monitor keeps its history in a file so that it survives restarts.
final class CommandHistory {
    private(set) var entries: [String] = []
    let limit: Int
    /// Where the history is kept across runs; nil keeps it in memory only.
    let file: String?

    init(limit: Int = 1000, file: String? = nil) {
        self.limit = limit
        self.file = file
        if let file { load(from: file) }
    }

    func add(_ line: String) {
        guard !line.allSatisfy(\.isWhitespace) else { return }
        entries.removeAll { $0 == line }
        entries.append(line)
        if entries.count > limit { entries.removeFirst(entries.count - limit) }
        if let file { save(to: file) }
    }

    /// `info history`'s lines: `0: 'info status'`.
    var infoLines: [String] {
        entries.enumerated().map { "\($0.offset): '\($0.element)'" }
    }

    /// `$XDG_STATE_HOME/hmp/history`, else `~/.local/state/hmp/history`; nil when neither can be named.
    static var defaultFile: String? {
        if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), state.hasPrefix("/") {
            return state + "/hmp/history"
        }
        if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty {
            return home + "/.local/state/hmp/history"
        }
        return nil
    }

    private func load(from path: String) {
        guard let text = try? FileIO.readWholeFile(path) else { return }
        for line in text.split(separator: "\n") where !line.isEmpty {
            entries.removeAll { $0 == line }
            entries.append(String(line))
        }
        if entries.count > limit { entries.removeFirst(entries.count - limit) }
    }

    /// Rewrites the file after each line, through a temporary file and rename, so that a crash never leaves half
    /// a history; a history that cannot be written is not worth interrupting the user for.
    private func save(to path: String) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        FileIO.makeDirectories(directory)
        let temporary = path + ".tmp"
        let text = entries.map { $0 + "\n" }.joined()
        guard (try? FileIO.writeWholeFile(temporary, text)) != nil else { return }
        rename(temporary, path)
    }
}
