import HMP

/// Renders the command table as the mdoc of hmp(1)'s COMMANDS section, one tagged item per command.
enum ManPageCommands {
    static func render<Handler>(_ table: CommandTable<Handler>) -> String {
        var out = ".Bl -tag -width Ds\n"
        for command in table.commands {
            out += entry(name: command.displayName, command: command)
            for sub in command.subcommands {
                out += entry(name: command.name + " " + sub.displayName, command: sub)
            }
        }
        return out + ".El\n"
    }

    private static func entry<Handler>(name: String, command: CommandDefinition<Handler>) -> String {
        // A trailing `?` or `|` would be read as a delimiter; `\&` keeps it part of the name.
        let guarded = name.last.map { "?|.,;:!()[]".contains($0) } == true ? name + "\\&" : name
        var out = ".It Ic \"\(guarded)\""
        if !command.params.isEmpty { out += " Ar \"\(escape(command.params))\"" }
        out += "\n" + escape(sentence(command.help)) + "\n"
        for detail in command.details { out += ".br\n" + escape(sentence(detail)) + "\n" }
        return out
    }

    private static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst() + (text.hasSuffix(".") ? "" : ".")
    }

    /// Text lines must not start with a control character, and backslashes are roff's escapes.
    private static func escape(_ text: String) -> String {
        var out = ""
        for c in text { out += c == "\\" ? "\\e" : String(c) }
        if out.hasPrefix(".") || out.hasPrefix("'") { out = "\\&" + out }
        return out
    }
}
