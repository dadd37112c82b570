extension CommandTable {
    /// What `help` prints: every command with no topic, or the rows that `topic` names (`help info` lists the info
    /// subcommands, `help info status` one of them). Unknown topics throw `unknown command: 'foo'`.
    /// Each row prints as QEMU's `"%s %s -- %s"`, then its details indented by three tabs and a space, as QEMU's
    /// multi-line help strings are. Words after a command without subcommands are ignored, as in QEMU.
    public func help(_ topic: String?) throws(HMPError) -> [String] {
        let words: [String]
        do {
            words = try QuotedWord.split(topic ?? "")
        } catch {
            // QEMU prints the reason and nothing else: no help line follows.
            throw HMPError(error.preface ?? "string expected", command: nil)
        }
        return try Self.help(commands, words: words, depth: 0)
    }

    private static func help(_ table: [CommandDefinition<Handler>], words: [String], depth: Int) throws(HMPError)
        -> [String]
    {
        let prefix = words.prefix(depth)
        guard depth < words.count else { return table.flatMap { helpLines($0, prefix: prefix) } }
        guard let row = table.first(where: { $0.matches(words[depth]) }) else {
            throw HMPError("unknown command: '\(words.prefix(depth + 1).joined(separator: " "))'", command: nil)
        }
        guard row.subcommands.isEmpty else { return try help(row.subcommands, words: words, depth: depth + 1) }
        return helpLines(row, prefix: prefix)
    }

    private static func helpLines(_ row: CommandDefinition<Handler>, prefix: ArraySlice<String>) -> [String] {
        let lead = prefix.map { "\($0) " }.joined()
        return ["\(lead)\(row.displayName) \(row.params) -- \(row.help)"] + row.details.map { "\t\t\t \($0)" }
    }
}
