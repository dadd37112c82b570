/// Reads an args_type string (`detach:-d,blk:-b,uri:s`) into argument specs.
public enum ArgsTypeParser {
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Malformed) -> [ArgSpec] {
        try entries(of: text).map { entry throws(Malformed) in try parseEntry(entry) }
    }

    /// The `name:TYPE` entries as written; QEMU's flag check searches this raw text (see `FlagScanner`).
    static func entries(of text: String) -> [Substring] {
        text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false)
    }

    private static func parseEntry(_ entry: Substring) throws(Malformed) -> ArgSpec {
        guard let colon = entry.firstIndex(of: ":") else { throw Malformed(description: "missing ':' in '\(entry)'") }
        let name = String(entry[..<colon])
        guard !name.isEmpty else { throw Malformed(description: "empty name in '\(entry)'") }
        var type = Array(entry[entry.index(after: colon)...])
        guard let letter = type.first else { throw Malformed(description: "missing type in '\(entry)'") }

        if letter == "-" {
            switch type.count {
            case 2 where type[1] != "?": return ArgSpec(name: name, kind: .flag(type[1]), optional: true)
            case 3 where type[2] == "s": return ArgSpec(name: name, kind: .flagWithValue(type[1]), optional: true)
            default: throw Malformed(description: "bad flag in '\(entry)'")
            }
        }

        type.removeFirst()
        guard let kind = ArgKind.letters[letter] else {
            throw Malformed(description: "unknown type '\(letter)' in '\(entry)'")
        }
        switch type {
        case []: return ArgSpec(name: name, kind: kind, optional: false)
        case ["?"] where kind != .format: return ArgSpec(name: name, kind: kind, optional: true)
        case ["."] where [.int32, .long, .megabytes].contains(kind):
            return ArgSpec(name: name, kind: kind, optional: true, dotted: true)
        default: throw Malformed(description: "bad suffix in '\(entry)'")
        }
    }
}
