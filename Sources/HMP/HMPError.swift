/// Why a typed line could not be turned into a command. `message` reads as QEMU 7.2's text (it may hold two lines,
/// as `unterminated string` then `migrate: string expected`); `command` is the command as typed, for the
/// `Try "help <command>" for more information` line that follows every parse error except an unknown command.
public struct HMPError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// The command as typed (`migrate`, `info status`, with any leading blanks, as QEMU echoes it), or nil when no
    /// help line should follow.
    public let command: String?
    /// A line of ours that QEMU does not print, saying what would have worked (`try "migrate -d -b uri"`).
    public let hint: String?

    public init(_ message: String, command: String?) {
        self.init(message, command: command, hint: nil)
    }

    public init(_ message: String, command: String?, hint: String?) {
        self.message = message
        self.command = command
        self.hint = hint
    }

    /// The lines the monitor prints, each without its newline: QEMU's message, our hint, then the Try line.
    public var lines: [String] {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let hint { lines.append(hint) }
        if let command { lines.append("Try \"help \(command)\" for more information") }
        return lines
    }

    public var description: String { lines.joined(separator: "\n") }
}
