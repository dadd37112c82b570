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

    /// The file's lines as `add` would have left them, in linear time: each line where it last occurs, the
    /// newest `limit` of them. Read from the end, so a line seen again is skipped rather than searched for.
    static func lines(of text: String, limit: Int) -> [String] {
        var seen = Set<Substring>()
        var newestFirst: [String] = []
        for line in text.split(separator: "\n").reversed() where !line.isEmpty {
            guard newestFirst.count < limit else { break }
            if seen.insert(line).inserted { newestFirst.append(String(line)) }
        }
        return newestFirst.reversed()
    }

    private func load(from path: String) {
        // Only the end of a huge file matters; reading is bounded so that a bloated file cannot stall start-up.
        guard FileIO.privateDirectory(containing: path),
            let text = try? FileIO.readRegularFile(path, keepingLast: CommandHistory.maxFileBytes)
        else { return }
        entries = Self.lines(of: text, limit: limit)
    }

    static let maxFileBytes = 4 << 20

    /// Rewrites the file after each line, through a new temporary file and rename, so that a crash never leaves
    /// half a history; a history that cannot be written is not worth interrupting the user for. The directory
    /// must be the user's own and closed to others (created 0700), so no one else can plant a link or a FIFO
    /// there; the temporary file has a random name and is created with O_EXCL, never through a link.
    private func save(to path: String) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        FileIO.makeDirectories(directory)
        guard FileIO.privateDirectory(containing: path) else { return }
        let text = entries.map { $0 + "\n" }.joined()
        guard let temporary = try? FileIO.writeNewTemporaryFile(beside: path, text) else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }
}
