/// Why a typed line could not be turned into a command. `message` reads as QEMU 7.2's text; `command` is the
/// command as typed, for the `Try "help <command>" for more information` line that follows every parse error
/// except an unknown command.
public struct HMPError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// The command as typed (`migrate`, `info foo`), or nil when no help line should follow.
    public let command: String?

    public init(_ message: String, command: String?) {
        self.message = message
        self.command = command
    }

    /// The lines the monitor prints, each without its newline.
    public var lines: [String] {
        var lines = [message]
        if let command { lines.append("Try \"help \(command)\" for more information") }
        return lines
    }

    public var description: String { lines.joined(separator: "\n") }
}
