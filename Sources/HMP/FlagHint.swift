/// Our extra line for QEMU's flag-order traps: `migrate -b -d uri`, `migrate -db uri` and `migrate uri -d` all fail
/// in 7.2 with messages that do not say why. The hint names the order and offers the line rearranged.
enum FlagHint {
    private struct Flag {
        let letter: Character
        let name: String
        let takesValue: Bool
    }

    /// The hint for `arguments` (the text after the command), or nil when no flag of the row was typed or when
    /// rearranging would change nothing.
    static func make(specs: [ArgSpec], command: String, arguments: String) -> String? {
        let flags: [Flag] = specs.compactMap { spec in
            switch spec.kind {
            case .flag(let c): Flag(letter: c, name: spec.name, takesValue: false)
            case .flagWithValue(let c): Flag(letter: c, name: spec.name, takesValue: true)
            default: nil
            }
        }
        guard !flags.isEmpty else { return nil }
        let tokens = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)

        var given: [Character: String] = [:]  // letter → value ("" for a plain flag)
        var positionals: [String] = []
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            i += 1
            let letters = Array(token.dropFirst())
            guard token.hasPrefix("-"), !letters.isEmpty else {
                positionals.append(token)
                continue
            }
            if letters.count == 1, let flag = flags.first(where: { $0.letter == letters[0] }) {
                if flag.takesValue {
                    given[flag.letter] = i < tokens.count ? tokens[i] : flag.name
                    i += 1
                } else {
                    given[flag.letter] = ""
                }
            } else if letters.allSatisfy({ c in flags.contains { $0.letter == c && !$0.takesValue } }) {
                for c in letters { given[c] = "" }
            } else {
                positionals.append(token)
            }
        }
        guard !given.isEmpty else { return nil }

        var suggestion: [String] = []
        var remaining = positionals[...]
        for spec in specs {
            switch spec.kind {
            case .flag(let c), .flagWithValue(let c):
                guard let value = given[c] else { continue }
                suggestion.append("-\(c)")
                if !value.isEmpty { suggestion.append(value) }
            case .restOfLine:
                suggestion.append(contentsOf: remaining)
                remaining = []
            default:
                if let next = remaining.popFirst() { suggestion.append(next) }
            }
        }
        suggestion.append(contentsOf: remaining)
        guard suggestion != tokens else { return nil }

        let line = ([command] + suggestion).joined(separator: " ")
        let flagsLead = specs.prefix(while: \.isFlag).count == flags.count
        guard flagsLead else {
            return "(flags go where \"help \(command)\" shows them, each at most once: try \"\(line)\")"
        }
        let order = flags.map { $0.takesValue ? "[-\($0.letter) \($0.name)]" : "[-\($0.letter)]" }.joined(separator: " ")
        return "(flags go before the other arguments, in the order \(order), each at most once: try \"\(line)\")"
    }
}
