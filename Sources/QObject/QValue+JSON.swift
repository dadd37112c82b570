import Glibc

/// A JSON text that is not well formed, with the byte offset where reading stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "JSON parse error at offset \(offset): \(reason)" }
}

extension QValue {
    /// The value as JSON, byte for byte as QEMU 7.2's qobject_to_json writes it into a QMP reply:
    /// `{"key": value, "other": value}`, doubles with `%.17g` (so `1.0` is `1`), and every character outside
    /// printable ASCII as an upper-case `\uXXXX` escape (surrogate pairs beyond the BMP).
    public var json: String {
        var out = ""
        writeJSON(into: &out)
        return out
    }

    func writeJSON(into out: inout String) {
        switch self {
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                item.writeJSON(into: &out)
            }
            out += "]"
        case .dict(let dict):
            out += "{"
            for (i, entry) in dict.entries.enumerated() {
                if i > 0 { out += ", " }
                QValue.writeJSONString(entry.key, into: &out)
                out += ": "
                entry.value.writeJSON(into: &out)
            }
            out += "}"
        default:
            writeScalarJSON(into: &out)
        }
    }

    /// A value that holds no others, as QEMU's to_json writes it.
    func writeScalarJSON(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d):
            // QEMU's qnum_to_string is "%.17g" (335.15568773234202, not the shortest 335.155687732342; 1, not
            // 1.0). JSON has no NaN or infinity, which QEMU would write as text no parser takes: null here.
            out += d.isFinite ? String(g17: d) : "null"
        case .string(let s): QValue.writeJSONString(s, into: &out)
        case .list, .dict: writeJSON(into: &out)
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
        var reader = JSONReader(bytes: Array(text.utf8))
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

/// A small recursive-descent reader over UTF-8 bytes; QMP messages are short, so clarity wins over speed here.
struct JSONReader {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 1024

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    func error(_ reason: String) -> JSONError { JSONError(offset: index, reason: reason) }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func readValue(depth: Int) throws(JSONError) -> QValue {
        guard depth < JSONReader.maxDepth else { throw error("nesting too deep") }
        skipSpace()
        guard !atEnd else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject(depth: depth)
        case UInt8(ascii: "["): return try readArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw error("unexpected character")
        }
    }

    mutating func expect(_ word: String) throws(JSONError) {
        for byte in word.utf8 {
            guard !atEnd, bytes[index] == byte else { throw error("invalid literal") }
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
            guard !atEnd, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try readString()
            skipSpace()
            guard !atEnd, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            dict[key] = try readValue(depth: depth + 1)
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

    mutating func readHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("bad hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func readString() throws(JSONError) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var run = [UInt8]()
        func flush(_ run: inout [UInt8], into scalars: inout String.UnicodeScalarView) {
            if !run.isEmpty {
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll(keepingCapacity: true)
            }
        }
        while true {
            guard !atEnd else { throw error("unterminated string") }
            let c = bytes[index]
            index += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw error("control character in string") }
            guard c == UInt8(ascii: "\\") else {
                run.append(c)
                continue
            }
            flush(&run, into: &scalars)
            guard !atEnd else { throw error("unterminated escape") }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try readHex4()
                if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                {
                    index += 2
                    let low = try readHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("bad surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                scalars.append(scalar)
            default: throw error("invalid escape")
            }
        }
        flush(&run, into: &scalars)
        return String(scalars)
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
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isFloat {
            if let i = Int64(text) { return .int(i) }
            if let u = UInt64(text) { return .uint(u) }
        }
        guard let d = Double(text) else { throw JSONError(offset: start, reason: "invalid number") }
        return .double(d)
    }
}
