import Glibc

/// A JSON text that is not well formed, with the byte offset where reading stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    /// QEMU 7.2's own words for this error (what follows `JSON parse error, `), when QEMU has specific ones:
    /// `duplicate key`, `invalid UTF-8 sequence in string`, `\ud800 is not a valid Unicode character`.
    public let qemuText: String?

    public init(offset: Int, reason: String, qemuText: String? = nil) {
        self.offset = offset
        self.reason = reason
        self.qemuText = qemuText
    }

    public var description: String { "JSON parse error at offset \(offset): \(qemuText ?? reason)" }
}

extension QValue {
    /// The value as JSON, byte for byte as QEMU 7.2's qobject_to_json writes it into a QMP reply:
    /// `{"key": value, "other": value}`, doubles with `%.17g` (so `1.0` is `1`), and every character outside
    /// printable ASCII as an upper-case `\uXXXX` escape (surrogate pairs beyond the BMP).
    public var json: String {
        var out = ""
        writeJSON(into: &out, indent: nil)
        return out
    }

    /// QEMU's to_json: compact with `indent` nil, else pretty from that level (see `prettyJSON`).
    func writeJSON(into out: inout String, indent: Int?) {
        let inner = indent.map { $0 + 1 }
        /// What goes before the element at `i`: `, ` between compact ones; a comma, then a new line, pretty.
        func separate(_ i: Int) {
            if let inner {
                out += i > 0 ? "," : ""
                Self.newline(&out, inner)
            } else if i > 0 {
                out += ", "
            }
        }
        switch self {
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                separate(i)
                item.writeJSON(into: &out, indent: inner)
            }
            if let indent { Self.newline(&out, indent) }
            out += "]"
        case .dict(let dict):
            out += "{"
            for (i, entry) in dict.entries.enumerated() {
                separate(i)
                QValue.writeJSONString(entry.key, into: &out)
                out += ": "
                entry.value.writeJSON(into: &out, indent: inner)
            }
            if let indent { Self.newline(&out, indent) }
            out += "}"
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d):
            // QEMU's qnum_to_string is "%.17g" (335.15568773234202, not the shortest 335.155687732342; 1, not
            // 1.0). An id of 1e999999 parses to infinity, which QEMU 7.2 echoes as `inf`: not JSON, but its reply.
            out += String(g17: d)
        case .string(let s): QValue.writeJSONString(s, into: &out)
        }
    }

    static func writeJSONString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                let value = scalar.value
                if value >= 0x20 && value < 0x7F {
                    out.unicodeScalars.append(scalar)
                } else if value > 0xFFFF {
                    writeEscape(0xD800 + ((value - 0x10000) >> 10), into: &out)
                    writeEscape(0xDC00 + ((value - 0x10000) & 0x3FF), into: &out)
                } else {
                    writeEscape(value, into: &out)
                }
            }
        }
        out += "\""
    }

    /// `\u%04X`, as QEMU spells what is not printable ASCII.
    private static func writeEscape(_ unit: UInt32, into out: inout String) {
        let hex = String(unit, radix: 16, uppercase: true)
        out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Parses one JSON value; whitespace may surround it, nothing else may follow.
    public init(json text: String) throws(JSONError) {
        try self.init(jsonBytes: Array(text.utf8))
    }

    /// Parses one JSON value from bytes as QEMU 7.2's parser reads them: strings in modified UTF-8 (`\xC0\x80` is
    /// U+0000) and single or double quotes, invalid UTF-8, lone surrogates and duplicate keys refused with QEMU's
    /// texts, integers beyond 64 bits read as doubles (`1e999999` is infinity). Linear in the input.
    public init(jsonBytes bytes: [UInt8]) throws(JSONError) {
        var reader = JSONReader(bytes: bytes)
        let value = try reader.readValue(depth: 0)
        reader.skipSpace()
        guard reader.atEnd else { throw reader.error("unexpected text after the value") }
        self = value
    }
}

extension String {
    /// `%.17g`, as QEMU writes a double into JSON.
    fileprivate init(g17 d: Double) {
        var buffer = [CChar](repeating: 0, count: 40)
        _ = withVaList([d]) { vsnprintf(&buffer, buffer.count, "%.17g", $0) }
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A recursive-descent reader over UTF-8 bytes. Every step moves forward, and a string's bytes are copied once, so
/// the time is linear in the input whatever it holds (a 240,000-key object, a 60 MiB string).
struct JSONReader {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 1024

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    func error(_ reason: String, qemu: String? = nil) -> JSONError {
        JSONError(offset: index, reason: reason, qemuText: qemu)
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func readValue(depth: Int) throws(JSONError) -> QValue {
        guard depth < JSONReader.maxDepth else { throw error("nesting too deep") }
        skipSpace()
        guard !atEnd else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject(depth: depth)
        case UInt8(ascii: "["): return try readArray(depth: depth)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try readString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw error("unexpected character")
        }
    }

    mutating func expect(_ word: StaticString) throws(JSONError) {
        let start = index
        for byte in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard !atEnd, bytes[index] == byte else { throw JSONError(offset: start, reason: "invalid literal") }
            index += 1
        }
    }

    mutating func readObject(depth: Int) throws(JSONError) -> QValue {
        index += 1
        var dict = QDict()
        skipSpace()
        if !atEnd, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .dict(dict)
        }
        while true {
            skipSpace()
            guard !atEnd, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                throw error("expected a member name")
            }
            let keyOffset = index
            let key = try readString()
            skipSpace()
            guard !atEnd, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            // As QEMU's parse_pair: the value is read (and its errors win) before the key is checked.
            let value = try readValue(depth: depth + 1)
            guard dict.insertNew(key, value) else {
                throw JSONError(offset: keyOffset, reason: "duplicate key", qemuText: "duplicate key")
            }
            skipSpace()
            guard !atEnd else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .dict(dict) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func readArray(depth: Int) throws(JSONError) -> QValue {
        index += 1
        var items: [QValue] = []
        skipSpace()
        if !atEnd, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .list(items)
        }
        while true {
            items.append(try readValue(depth: depth + 1))
            skipSpace()
            guard !atEnd else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .list(items) }
            throw error("expected ',' or ']'")
        }
    }

    /// Four hex digits, or nil when one is not (QEMU then names the escape as not a valid character).
    mutating func readHex4() -> UInt32? {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard !atEnd else { return nil }
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Unicode's rule as QEMU applies it: within range, not a surrogate, not one of the 66 noncharacters.
    static func isValidCodePoint(_ cp: UInt32) -> Bool {
        cp <= 0x10FFFF && !(0xFDD0...0xFDEF).contains(cp) && cp & 0xFFFE != 0xFFFE && !(0xD800...0xDFFF).contains(cp)
    }

    /// Appends `cp` (valid) as UTF-8.
    static func appendUTF8(_ cp: UInt32, to out: inout [UInt8]) {
        switch cp {
        case 0..<0x80: out.append(UInt8(cp))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | cp >> 6))
            out.append(UInt8(0x80 | cp & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | cp >> 12))
            out.append(UInt8(0x80 | (cp >> 6) & 0x3F))
            out.append(UInt8(0x80 | cp & 0x3F))
        default:
            out.append(UInt8(0xF0 | cp >> 18))
            out.append(UInt8(0x80 | (cp >> 12) & 0x3F))
            out.append(UInt8(0x80 | (cp >> 6) & 0x3F))
            out.append(UInt8(0x80 | cp & 0x3F))
        }
    }

    /// One modified-UTF-8 sequence starting at `index` (a byte of 0x80 or more), as QEMU's mod_utf8_codepoint
    /// judges it; advances past it and returns its code point, or nil when it is invalid.
    mutating func readMultiByte() -> UInt32? {
        let lead = bytes[index]
        index += 1
        // 0xFE, 0xFF are impossible; 0x80...0xBF continue a sequence and cannot start one.
        guard lead < 0xFE, lead & 0x40 != 0 else { return nil }
        var length = 0
        var mask: UInt8 = 0x80
        while lead & mask != 0 {
            length += 1
            mask >>= 1
        }
        var cp = UInt32(lead & (mask &- 1))
        for _ in 1..<length {
            guard !atEnd, bytes[index] & 0xC0 == 0x80 else { return nil }
            cp = cp << 6 | UInt32(bytes[index] & 0x3F)
            index += 1
        }
        let shortest: [UInt32] = [0x80, 0x800, 0x10000, 0x200000, 0x4000000]
        guard JSONReader.isValidCodePoint(cp) else { return nil }
        // Overlong forms are refused, except \xC0\x80, modified UTF-8's U+0000.
        guard cp >= shortest[length - 2] || (cp == 0 && length == 2) else { return nil }
        return cp
    }

    mutating func readString() throws(JSONError) -> String {
        let quote = bytes[index]
        index += 1
        var out: [UInt8] = []
        var runStart = index
        while true {
            guard !atEnd else { throw error("unterminated string") }
            let c = bytes[index]
            if c == quote {
                let string: String
                if out.isEmpty {
                    string = String(decoding: bytes[runStart..<index], as: UTF8.self)
                } else {
                    out.append(contentsOf: bytes[runStart..<index])
                    string = String(decoding: out, as: UTF8.self)
                }
                index += 1
                return string
            }
            if c < 0x80 {
                if c < 0x20 { throw error("control character in string") }
                if c == UInt8(ascii: "\\") {
                    out.append(contentsOf: bytes[runStart..<index])
                    try readEscape(into: &out)
                    runStart = index
                } else {
                    index += 1
                }
                continue
            }
            let sequenceStart = index
            guard let cp = readMultiByte() else {
                throw JSONError(
                    offset: sequenceStart, reason: "invalid UTF-8", qemuText: "invalid UTF-8 sequence in string")
            }
            if cp == 0 {
                // \xC0\x80 is kept as the NUL it stands for, so that the text is valid UTF-8.
                out.append(contentsOf: bytes[runStart..<sequenceStart])
                out.append(0)
                runStart = index
            }
        }
    }

    /// The escape at `index` (its backslash), its character appended to `out`.
    mutating func readEscape(into out: inout [UInt8]) throws(JSONError) {
        let begin = index
        index += 1
        guard !atEnd else { throw error("unterminated string") }
        let e = bytes[index]
        index += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var code = readHex4()
            // QEMU quotes `\u` and the four characters after it when they are not all hex digits.
            var end = code == nil ? begin + 6 : index
            // A leading surrogate pairs only with a trailing one right after it; QEMU names both escapes when the
            // pair is still not a character (U+10FFFF), the first alone when it is not a pair.
            if let lead = code, (0xD800...0xDBFF).contains(lead), index + 1 < bytes.count,
                bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            {
                let save = index
                index += 2
                if let trail = readHex4(), (0xDC00...0xDFFF).contains(trail) {
                    code = 0x10000 + ((lead & 0x3FF) << 10) | (trail & 0x3FF)
                    end = index
                } else {
                    index = save
                    code = nil
                }
            }
            guard let cp = code, JSONReader.isValidCodePoint(cp) else {
                let text = String(decoding: bytes[begin..<min(end, bytes.count)], as: UTF8.self)
                throw JSONError(offset: begin, reason: "invalid \\u escape", qemuText: "\(text) is not a valid Unicode character")
            }
            JSONReader.appendUTF8(cp, to: &out)
        default:
            throw JSONError(offset: begin, reason: "invalid escape", qemuText: "invalid escape sequence in string")
        }
    }

    mutating func readNumber() throws(JSONError) -> QValue {
        let start = index
        var isFloat = false
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        while !atEnd {
            let c = bytes[index]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                index += 1
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || ((c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) && isFloat)
            {
                isFloat = true
                index += 1
            } else {
                break
            }
        }
        // A number is a token of its own: QEMU's lexer caps tokens, and so does the splitter before us; this keeps
        // a bare parser call from converting megabytes of digits.
        guard index - start <= 4096 else { throw JSONError(offset: start, reason: "number too long") }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isFloat {
            if let i = Int64(text) { return .int(i) }
            if let u = UInt64(text) { return .uint(u) }
        }
        // Beyond 64 bits, or a fraction: a double, ±infinity when out of range, as QEMU's strtod gives.
        guard let d = Double(text) else { throw JSONError(offset: start, reason: "invalid number") }
        return .double(d)
    }
}
