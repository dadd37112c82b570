public import QObject

/// One row of the command table, as one entry of QEMU's hmp-commands.hx: names, args_type, params, help, and what
/// runs it. `Handler` is the monitor's own function type, so that this module stays free of machines and I/O.
public struct CommandDefinition<Handler: Sendable>: Sendable {
    /// The name first, then its aliases: `quit|q` is `["quit", "q"]`.
    public let names: [String]
    /// The args_type string as written in the table, e.g. `detach:-d,blk:-b,inc:-i,uri:s`.
    public let argsType: String
    /// The parsed form of `argsType`.
    public let arguments: [ArgSpec]
    /// The synopsis shown by help, e.g. `[-d] [-b] [-i] uri`.
    public let params: String
    /// One line saying what the command does.
    public let help: String
    /// Further lines that `help CMD` prints under the first (flag explanations).
    public let details: [String]
    /// Words to offer for argument `index` (0-based, flags excluded) given the words typed so far and what the
    /// machine knows (`source`); nil = default.
    public let completer: Completer?
    public typealias Completer = @Sendable (_ index: Int, _ typed: [String], _ source: any CompletionSource) -> [String]?
    /// Commands reached through this one, as `info status` through `info`.
    public let subcommands: [CommandDefinition]
    public let handler: Handler?
    /// Who runs the line when the monitor drives a QEMU that has a monitor of its own (`hmp --connect`).
    public let whenAttached: AttachedRoute

    /// Builds a row; a malformed `argsType` is a programming error and traps at start-up.
    public init(
        _ names: String,
        args argsType: String = "",
        params: String = "",
        help: String,
        details: [String] = [],
        completer: Completer? = nil,
        subcommands: [CommandDefinition] = [],
        whenAttached: AttachedRoute = .handler,
        handler: Handler?
    ) {
        self.names = names.split(separator: "|").map(String.init)
        self.argsType = argsType
        do {
            self.arguments = try ArgsTypeParser.parse(argsType)
        } catch {
            preconditionFailure("command table: \(names): \(error)")
        }
        self.params = params
        self.help = help
        self.details = details
        self.completer = completer
        self.subcommands = subcommands.sorted { $0.name < $1.name }
        self.handler = handler
        self.whenAttached = whenAttached
    }

    public var name: String { names[0] }

    /// The names joined as QEMU shows them in help: `quit|q`.
    public var displayName: String { names.joined(separator: "|") }

    public func matches(_ word: String) -> Bool { names.contains(word) }
}

/// Who runs a row's lines when the monitor is attached to a QEMU: the row's handler (through the backend's typed
/// calls, so that hmp can watch and render the result), or that QEMU's own monitor (its HMP, whose words and
/// output are the reference for every version). A line that names no row always goes to QEMU's monitor.
public enum AttachedRoute: Sendable, Equatable {
    case handler
    case qemuMonitor
}

/// What one typed line asks for: the row it names and its arguments as a QDict.
public struct ParsedCommand<Handler: Sendable>: Sendable {
    public let definition: CommandDefinition<Handler>
    /// The command as typed, for messages: `migrate`, or `info status` for a subcommand.
    public let path: String
    public let arguments: QDict
    /// Warnings QEMU prints while it reads the arguments (`warning: Using a multiplier suffix on hex numbers is
    /// deprecated: 0x1k`), to be printed before the command runs.
    public let warnings: [String]

    public init(definition: CommandDefinition<Handler>, path: String, arguments: QDict, warnings: [String] = []) {
        self.definition = definition
        self.path = path
        self.arguments = arguments
        self.warnings = warnings
    }
}
