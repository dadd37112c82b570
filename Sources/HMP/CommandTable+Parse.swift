extension CommandTable {
    /// Parses one typed line into its command and arguments, as QEMU 7.2's monitor_parse_command does.
    /// Returns nil for a blank line. `/fmt` arguments start from QEMU's default format, `x` in 4-byte units.
    public func parse(_ line: String) throws(HMPError) -> ParsedCommand<Handler>? {
        var formats = MemoryFormat()
        return try parse(line, formats: &formats)
    }

    /// Parses one line, reading and updating the remembered `/fmt` format as QEMU does for `x`, `xp` and `print`.
    public func parse(_ line: String, formats: inout MemoryFormat) throws(HMPError) -> ParsedCommand<Handler>? {
        let length = line.utf8.count
        guard length <= LineLength.limit else {
            throw HMPError("line too long (\(length) bytes; the limit is \(LineLength.limit))", command: nil)
        }
        var cursor = LineCursor(line)
        var table = commands
        var words: [String] = []
        var nameEnd = 0
        var row: CommandDefinition<Handler>
        while true {
            cursor.skipSpaces()
            if words.isEmpty && cursor.atEnd { return nil }
            let start = cursor.index
            // A name ends at white space or at '/', so that `x/4x addr` reads as `x` with `/4x`.
            while !cursor.atEnd && !cursor.current.isCSpace && cursor.current != UInt8(ascii: "/") { cursor.advance() }
            let name = cursor.text(start..<cursor.index)
            guard let found = table.first(where: { $0.matches(name) }) else {
                // QEMU quotes the line from its very start, leading blanks included.
                throw HMPError("unknown command: '\(cursor.text(0..<cursor.index))'", command: nil)
            }
            row = found
            words.append(name)
            nameEnd = cursor.index
            cursor.skipSpaces()
            guard !row.subcommands.isEmpty && !cursor.atEnd else { break }
            table = row.subcommands
        }
        // A row without a handler that is not a gateway to subcommands exists only for help.
        if row.handler == nil && row.subcommands.isEmpty {
            throw HMPError("Command \"\(cursor.text(0..<cursor.index))\" is not available.", command: nil)
        }

        let argumentsStart = cursor.index
        var reader = ArgumentsReader(
            specs: row.arguments, entries: ArgsTypeParser.entries(of: row.argsType),
            commandName: row.displayName, cursor: cursor, formats: formats)
        do {
            let arguments = try reader.read()
            formats = reader.formats
            return ParsedCommand(
                definition: row, path: words.joined(separator: " "), arguments: arguments, warnings: reader.warnings)
        } catch {
            let typed = cursor.text(0..<nameEnd)
            let hint = error.mayBeFlagOrder
                ? FlagHint.make(
                    specs: row.arguments, command: words.joined(separator: " "),
                    arguments: cursor.text(argumentsStart..<cursor.bytes.count))
                : nil
            throw HMPError(error.message, command: typed, hint: hint)
        }
    }

    /// The row a line names (`info status` names the `status` row under `info`), without reading its arguments;
    /// nil for a blank line or a name the table does not have.
    public func row(for line: String) -> CommandDefinition<Handler>? {
        var cursor = LineCursor(line)
        var table = commands
        var row: CommandDefinition<Handler>?
        while true {
            cursor.skipSpaces()
            if cursor.atEnd { return row }
            let start = cursor.index
            while !cursor.atEnd && !cursor.current.isCSpace && cursor.current != UInt8(ascii: "/") { cursor.advance() }
            guard let found = table.first(where: { $0.matches(cursor.text(start..<cursor.index)) }) else {
                // `info nosuch`: the info row itself is not what the line asks for.
                return nil
            }
            row = found
            guard !found.subcommands.isEmpty else { return row }
            table = found.subcommands
        }
    }
}
