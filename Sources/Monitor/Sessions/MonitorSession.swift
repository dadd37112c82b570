import Glibc
import Platform
import Synchronization

/// One monitor connection: the terminal, a pipe, or a unix-socket client. Commands write their output here.
final class MonitorSession: @unchecked Sendable {
    // `output` never changes; writes are serialized by `writeLock` (or by `client`'s queue), and `history` is
    // only touched by the thread that reads this session's lines.
    let output: Int32
    /// A socket client's non-blocking output; nil for the terminal and stdout, which are written in full.
    let client: ClientOutput?
    let history: CommandHistory
    /// True when a person types at a terminal: line editing is on and escapes are allowed.
    let isTerminal: Bool
    private let writeLock = Mutex(())
    /// For a terminal: lines from other threads wait here until the editor can print them above the prompt.
    private let pending = Mutex<[String]>([])
    private let wakeup: Wakeup?

    /// `wakeup` is the event loop's: set it for a session whose notifications must wait until the line editor
    /// can print them above the line being edited.
    init(output: Int32, history: CommandHistory, isTerminal: Bool, wakeup: Wakeup? = nil) {
        self.output = output
        client = nil
        self.history = history
        self.isTerminal = isTerminal
        self.wakeup = wakeup
        captured = Mutex<String?>(nil)
    }

    /// A socket client's session.
    init(client: ClientOutput, history: CommandHistory) {
        output = client.descriptor
        self.client = client
        self.history = history
        isTerminal = false
        wakeup = nil
        captured = Mutex<String?>(nil)
    }

    /// What a capturing session (QMP's human-monitor-command) was given to write; nil for every other session.
    private let captured: Mutex<String?>

    /// A session that keeps what commands write, for human-monitor-command's reply.
    init(capturing: Void) {
        output = -1
        client = nil
        history = CommandHistory()
        isTerminal = false
        wakeup = nil
        captured = Mutex<String?>("")
    }

    /// What was written so far, for a capturing session.
    var capturedText: String { captured.withLock { $0 } ?? "" }

    /// True once a socket client has gone or been dropped: its monitor stops reading and ends.
    var isGone: Bool { client?.isDropped ?? false }

    /// A line no command asked for, written on the loop (MonitorHub.broadcast). A terminal prints it above the
    /// prompt when its editor next wakes.
    func notify(_ line: String) {
        guard let wakeup else {
            print(line)
            return
        }
        // Bounded: a terminal that is not printing (a long command) must not make a flood of events pile up.
        pending.withLock { lines in
            if lines.count >= Self.pendingLimit {
                lines.removeFirst(lines.count - Self.pendingLimit + 1)
                lines[0] = "(earlier lines were dropped: too many arrived at once)"
            }
            lines.append(line)
        }
        wakeup.wake()
    }

    /// Descriptors a socket client passed with SCM_RIGHTS, waiting for `getfd` to name them, by QEMU's rule.
    var receivedDescriptors = ReceivedDescriptors()

    static let pendingLimit = 1000

    func takeNotifications() -> [String] {
        pending.withLock { lines in
            defer { lines.removeAll() }
            return lines
        }
    }

    /// Writes `text` and a newline.
    func print(_ text: String) {
        write(text + "\n")
    }

    func write(_ text: String) {
        let wasCaptured = captured.withLock { kept -> Bool in
            guard kept != nil else { return false }
            kept! += text
            return true
        }
        if wasCaptured { return }
        if let client {
            client.write(text)
            return
        }
        writeLock.withLock { _ in
            // A client that has gone away loses its output; the machine carries on.
            try? FileIO.writeAll(output, text)
        }
    }
}
