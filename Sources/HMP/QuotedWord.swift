/// QEMU's get_str: one word, or a double-quoted string with `\n \r \\ \' \"` escapes.
/// QEMU truncates words at 1023 bytes; this reader keeps them whole.
enum QuotedWord {
    struct Failure: Error {
        /// What QEMU prints before the caller's own message (`unterminated string`), if anything.
        let preface: String?
    }

    static func read(_ cursor: inout LineCursor) throws(Failure) -> String {
        cursor.skipSpaces()
        guard !cursor.atEnd else { throw Failure(preface: nil) }
        var out: [UInt8] = []
        guard cursor.current == UInt8(ascii: "\"") else {
            while !cursor.atEnd && !cursor.current.isCSpace {
                out.append(cursor.current)
                cursor.advance()
            }
            return String(decoding: out, as: UTF8.self)
        }
        cursor.advance()
        while !cursor.atEnd && cursor.current != UInt8(ascii: "\"") {
            guard cursor.current == UInt8(ascii: "\\") else {
                out.append(cursor.current)
                cursor.advance()
                continue
            }
            cursor.advance()
            let c = cursor.current
            // A backslash at the very end would make QEMU read past the line; call that unterminated.
            guard c != 0 else { throw Failure(preface: "unterminated string") }
            cursor.advance()
            switch c {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(c)
            default: throw Failure(preface: "unsupported escape code: '\\\(c.printed)'")
            }
        }
        guard cursor.current == UInt8(ascii: "\"") else { throw Failure(preface: "unterminated string") }
        cursor.advance()
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits text into words as QEMU's parse_cmdline does for `help` and completion.
    static func split(_ text: String) throws(Failure) -> [String] {
        var cursor = LineCursor(text)
        var words: [String] = []
        while true {
            cursor.skipSpaces()
            if cursor.atEnd { return words }
            words.append(try read(&cursor))
        }
    }
}
