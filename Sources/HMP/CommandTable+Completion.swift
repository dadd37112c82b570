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
        // Split on the UTF-8 bytes: the blanks are ASCII, and bytes (unlike Characters, where "\r\n" is one) cut
        // the line exactly where the parser does, in one pass however hostile the line.
        let bytes = Array(line.utf8)
        let isBlank = { (b: UInt8) in b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        let wordStart = bytes.lastIndex(where: isBlank).map { $0 + 1 } ?? 0
        let word = String(decoding: bytes[wordStart...], as: UTF8.self)
        let before = bytes[..<wordStart].split(whereSeparator: isBlank).map { String(decoding: $0, as: UTF8.self) }
        let candidates = candidates(in: commands, before: before[...], word: word, source: source)
        return Completion(word: word, candidates: Array(Set(candidates.filter { $0.hasPrefix(word) })).sorted())
    }

    /// Walks the typed words down the table: into subcommands, and back to the top after each `help`. A loop, not
    /// recursion, since `help help help …` may be as long as the line.
    private func candidates(
        in start: [CommandDefinition<Handler>], before: ArraySlice<String>, word: String, source: any CompletionSource
    ) -> [String] {
        var table = start
        var before = before
        var others = source.otherCommands
        while let first = before.first {
            guard let row = table.first(where: { $0.matches(first) }) else { return [] }
            before = before.dropFirst()
            if !row.subcommands.isEmpty {
                table = row.subcommands
                others = row.name == "info" ? source.otherInfoItems : []
            } else if row.name == "help" {
                // As in QEMU, `help` completes its words as if they were a command line.
                table = commands
                others = source.otherCommands
            } else {
                return Self.argumentCandidates(row, typed: Array(before), word: word, source: source)
            }
        }
        return table.flatMap(\.names) + others
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
