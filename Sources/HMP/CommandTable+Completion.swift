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
        // A file name typed with its opening quote completes as a name, to be quoted again when inserted.
        let unquoted = word.hasPrefix("\"") ? String(word.dropFirst()) : word
        let (found, isFile, afterExpression) = candidates(in: commands, before: before[...], word: unquoted, source: source)
        let prefix = isFile ? unquoted : word
        let matches = Array(Set(found.filter { $0.hasPrefix(prefix) })).sorted()
        let quoted = isFile
            && (word.hasPrefix("\"") || afterExpression
                || matches.contains { $0.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "\\" }) })
        return Completion(word: word, candidates: matches, quoted: quoted)
    }

    /// Walks the typed words down the table: into subcommands, and back to the top after each `help`. A loop, not
    /// recursion, since `help help help …` may be as long as the line.
    /// The candidates, whether they are file names, and whether that file name follows an integer (expression)
    /// argument.
    private func candidates(
        in start: [CommandDefinition<Handler>], before: ArraySlice<String>, word: String, source: any CompletionSource
    ) -> (names: [String], isFile: Bool, afterExpression: Bool) {
        var table = start
        var before = before
        var others = source.otherCommands
        while let first = before.first {
            guard let row = table.first(where: { $0.matches(first) }) else { return ([], false, false) }
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
        return (table.flatMap(\.names) + others, false, false)
    }

    private static func argumentCandidates(
        _ row: CommandDefinition<Handler>, typed: [String], word: String, source: any CompletionSource
    ) -> (names: [String], isFile: Bool, afterExpression: Bool) {
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
        if awaitingValue { return ([], false, false) }

        if word.hasPrefix("-") {
            let flags = specs[next...].prefix(while: \.isFlag).map { "-\(flagLetter($0))" }
            if !flags.isEmpty { return (flags, false, false) }
        }
        if let custom = row.completer?(positional, typed, source) { return (custom, false, false) }
        guard let index = specs[next...].firstIndex(where: { !$0.isFlag }) else { return ([], false, false) }
        switch specs[index].kind {
        case .blockDevice: return (source.blockDevices, false, false)
        case .filename:
            let previous = specs[..<index].last(where: { !$0.isFlag })?.kind
            let afterExpression = previous == .int32 || previous == .long || previous == .megabytes
            return (source.files(matching: word), true, afterExpression)
        case .bool: return (["on", "off"], false, false)
        default: return ([], false, false)
        }
    }

    private static func flagLetter(_ spec: ArgSpec) -> Character {
        switch spec.kind {
        case .flag(let c), .flagWithValue(let c): c
        default: " "
        }
    }
}
