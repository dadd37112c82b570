extension CommandTable {
    /// Completes the word before the cursor; `line` is the text from the start of the line up to the cursor.
    ///
    /// The word is the text after the last blank. The first word completes to command names and aliases, the word
    /// after a command with subcommands to their names, and the words after `help` as a line of their own. For
    /// arguments: a word starting with `-` completes to the row's flags still allowed after those typed (QEMU
    /// reads flags only in table order); otherwise the row's `completer` is asked with the 0-based index of the
    /// argument, flags not counted, and the complete words typed after the command name; if it gives nil, `B`
    /// offers block devices, `F` files and `b` on/off.
    public func complete(_ line: String, source: any CompletionSource) -> Completion {
        let isBlank = { (c: Character) in c == " " || c == "\t" || c == "\n" || c == "\r" }
        let word = String(line.reversed().prefix(while: { !isBlank($0) }).reversed())
        let before = line.dropLast(word.count).split(whereSeparator: isBlank).map(String.init)
        let candidates = Self.candidates(in: commands, top: commands, before: before[...], word: word, source: source)
        return Completion(word: word, candidates: Array(Set(candidates.filter { $0.hasPrefix(word) })).sorted())
    }

    private static func candidates(
        in table: [CommandDefinition<Handler>], top: [CommandDefinition<Handler>], before: ArraySlice<String>,
        word: String, source: any CompletionSource
    ) -> [String] {
        guard let first = before.first else { return table.flatMap(\.names) }
        guard let row = table.first(where: { $0.matches(first) }) else { return [] }
        let rest = before.dropFirst()
        if !row.subcommands.isEmpty {
            return candidates(in: row.subcommands, top: top, before: rest, word: word, source: source)
        }
        // As in QEMU, `help` completes its words as if they were a command line.
        if row.name == "help" {
            return candidates(in: top, top: top, before: rest, word: word, source: source)
        }
        return argumentCandidates(row, typed: Array(rest), word: word, source: source)
    }

    private static func argumentCandidates(
        _ row: CommandDefinition<Handler>, typed: [String], word: String, source: any CompletionSource
    ) -> [String] {
        let specs = row.arguments
        var next = 0  // the first spec not yet used up
        var positional = 0
        var awaitingValue = false
        // Follow QEMU's single pass over the table: a flag is read only at its own place in the order.
        for token in typed {
            if awaitingValue {
                awaitingValue = false
                continue
            }
            if let flag = specs[next...].prefix(while: \.isFlag).firstIndex(where: { token == "-\(flagLetter($0))" }) {
                if case .flagWithValue = specs[flag].kind { awaitingValue = true }
                next = flag + 1
                continue
            }
            while next < specs.count, specs[next].isFlag { next += 1 }
            // The rest of the line stays one argument however many words it has.
            if next < specs.count, specs[next].kind != .restOfLine { next += 1 }
            positional += 1
        }
        if awaitingValue { return [] }

        if word.hasPrefix("-") {
            let flags = specs[next...].prefix(while: \.isFlag).map { "-\(flagLetter($0))" }
            if !flags.isEmpty { return flags }
        }
        if let custom = row.completer?(positional, typed) { return custom }
        guard let spec = specs[next...].first(where: { !$0.isFlag }) else { return [] }
        switch spec.kind {
        case .blockDevice: return source.blockDevices
        case .filename: return source.files(matching: word)
        case .bool: return ["on", "off"]
        default: return []
        }
    }

    private static func flagLetter(_ spec: ArgSpec) -> Character {
        switch spec.kind {
        case .flag(let c), .flagWithValue(let c): c
        default: " "
        }
    }
}
