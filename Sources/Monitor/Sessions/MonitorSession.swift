import Glibc
import Synchronization

/// One monitor connection: the terminal, a pipe, or a unix-socket client. Commands write their output here.
final class MonitorSession: @unchecked Sendable {
    // `output` never changes; writes are serialized by `writeLock`, and `history` is only touched by the thread
    // that reads this session's lines.
    let output: Int32
    let history: CommandHistory
    /// True when a person types at a terminal: line editing is on and escapes are allowed.
    let isTerminal: Bool
    private let writeLock = Mutex(())

    init(output: Int32, history: CommandHistory, isTerminal: Bool) {
        self.output = output
        self.history = history
        self.isTerminal = isTerminal
    }

    /// Writes `text` and a newline.
    func print(_ text: String) {
        write(text + "\n")
    }

    func write(_ text: String) {
        writeLock.withLock { _ in
            // A client that has gone away loses its output; the machine carries on.
            try? FileIO.writeAll(output, text)
        }
    }
}
