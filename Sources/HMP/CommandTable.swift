import QObject

/// The monitor's commands, in the order help lists them. One table drives parsing, help, completion and the man page.
public struct CommandTable<Handler: Sendable>: Sendable {
    public let commands: [CommandDefinition<Handler>]

    /// Sorts the rows by name, as QEMU sorts its tables at start-up, so that help lists them alphabetically.
    public init(_ commands: [CommandDefinition<Handler>]) {
        self.commands = commands.sorted { $0.name < $1.name }
    }

    /// The row whose name or alias is `word`.
    public func find(_ word: String) -> CommandDefinition<Handler>? {
        commands.first { $0.matches(word) }
    }
}

/// Where completion looks for what only the running monitor knows.
public protocol CompletionSource {
    /// Drive ids, offered for `B` arguments.
    var blockDevices: [String] { get }
    /// Entries of the file system that start with `prefix` (a path as typed), offered for `F` arguments.
    /// Directories end with `/`.
    func files(matching prefix: String) -> [String]
    /// Commands and `info` items beyond the table's, offered beside them: those of a QEMU the monitor is
    /// attached to.
    var otherCommands: [String] { get }
    var otherInfoItems: [String] { get }
    /// The migration parameters and capabilities the machine knows (a QEMU's own, when attached to one).
    var migrationParameters: [String] { get }
    var migrationCapabilities: [String] { get }
}

extension CompletionSource {
    public var otherCommands: [String] { [] }
    public var otherInfoItems: [String] { [] }
    public var migrationParameters: [String] { [] }
    public var migrationCapabilities: [String] { [] }
}

/// The result of completing a line: the word under the cursor and what could replace it.
public struct Completion: Sendable, Equatable {
    /// The partial word being completed (the text after the last separator).
    public let word: String
    /// Full candidates for `word`, sorted, without duplicates.
    public let candidates: [String]

    /// True when the chosen candidate must go in double quotes for the parser to take it: a file name after an
    /// integer argument (an expression would read `/tmp` as a division), or one with blanks, quotes or
    /// backslashes. `word` is then replaced whole by `quotedText(candidate)`.
    public let quoted: Bool

    public init(word: String, candidates: [String], quoted: Bool = false) {
        self.word = word
        self.candidates = candidates
        self.quoted = quoted
    }

    /// `text` as the parser reads a quoted word: in double quotes, `"` and `\` escaped. `closed` adds the
    /// closing quote (a directory stays open, for more to be typed).
    public static func quotedText(_ text: String, closed: Bool) -> String {
        var out = "\""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return closed ? out + "\"" : out
    }
}
