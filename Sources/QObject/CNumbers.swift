/// The C library's number readers, as QEMU calls them, over the bytes of a line: what they accept and where they
/// stop decides which text is left for the next argument, so the stopping point matters as much as the value.
/// The one strtoull of hmp: `qemu_strtosz` (QEMUSize) and the monitor's expressions both read through it.
public enum CNumbers {
    public struct Unsigned: Sendable, Equatable {
        public let value: UInt64
        /// Index just past the number; equal to the start when nothing was read.
        public let end: Int
        public let overflow: Bool
    }

    /// strtoull: leading white space, an optional sign (a minus negates modulo 2^64), then digits in `base`;
    /// base 0 reads `0x` as hex and a leading `0` as octal. `0x` without hex digits reads as `0`.
    public static func strtoull(_ bytes: [UInt8], from start: Int, base requested: Int) -> Unsigned {
        func at(_ i: Int) -> UInt8 { i >= 0 && i < bytes.count ? bytes[i] : 0 }
        var i = start
        while isCSpace(at(i)) { i += 1 }
        var negative = false
        if at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") {
            negative = at(i) == UInt8(ascii: "-")
            i += 1
        }
        var base = requested
        let hexPrefix = at(i) == UInt8(ascii: "0") && at(i + 1) | 0x20 == UInt8(ascii: "x")
            && digit(at(i + 2), base: 16) != nil
        if (base == 0 || base == 16) && hexPrefix {
            base = 16
            i += 2
        } else if base == 0 {
            base = at(i) == UInt8(ascii: "0") ? 8 : 10
        }
        let digitsStart = i
        var value: UInt64 = 0
        var overflow = false
        while let d = digit(at(i), base: base) {
            let (m, o1) = value.multipliedReportingOverflow(by: UInt64(base))
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { overflow = true }
            value = s
            i += 1
        }
        guard i > digitsStart else { return Unsigned(value: 0, end: start, overflow: false) }
        if overflow { return Unsigned(value: .max, end: i, overflow: true) }
        return Unsigned(value: negative ? 0 &- value : value, end: i, overflow: false)
    }

    public static func digit(_ byte: UInt8, base: Int) -> Int? {
        let d: Int
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): d = Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): d = Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
        return d < base ? d : nil
    }

    /// strtod: the longest prefix that reads as a double (decimal or hex, with exponent, or inf/nan), or nil.
    public static func strtod(_ bytes: [UInt8], from start: Int) -> (value: Double, end: Int)? {
        var i = start
        func at(_ j: Int) -> UInt8 { j < bytes.count ? bytes[j] : 0 }
        while isCSpace(at(i)) { i += 1 }
        let signStart = i
        if at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") { i += 1 }
        let lower = { (j: Int, word: String) -> Bool in
            word.utf8.enumerated().allSatisfy { at(j + $0.offset) | 0x20 == $0.element }
        }
        if lower(i, "infinity") || lower(i, "inf") || lower(i, "nan") {
            let length = lower(i, "infinity") ? 8 : 3
            let negative = at(signStart) == UInt8(ascii: "-")
            let value = lower(i, "nan") ? Double.nan : (negative ? -Double.infinity : .infinity)
            return (value, i + length)
        }
        let hex = at(i) == UInt8(ascii: "0") && at(i + 1) | 0x20 == UInt8(ascii: "x")
            && (digit(at(i + 2), base: 16) != nil || (at(i + 2) == UInt8(ascii: ".") && digit(at(i + 3), base: 16) != nil))
        let base = hex ? 16 : 10
        if hex { i += 2 }
        var mantissaDigits = 0
        while digit(at(i), base: base) != nil { i += 1; mantissaDigits += 1 }
        if at(i) == UInt8(ascii: ".") {
            var j = i + 1
            var fractionDigits = 0
            while digit(at(j), base: base) != nil { j += 1; fractionDigits += 1 }
            if mantissaDigits + fractionDigits > 0 { i = j; mantissaDigits += fractionDigits }
        }
        guard mantissaDigits > 0 else { return nil }
        let exponentMark = hex ? UInt8(ascii: "p") : UInt8(ascii: "e")
        if at(i) | 0x20 == exponentMark {
            var j = i + 1
            if at(j) == UInt8(ascii: "+") || at(j) == UInt8(ascii: "-") { j += 1 }
            if isDigit(at(j)) {
                while isDigit(at(j)) { j += 1 }
                i = j
            }
        }
        guard let value = Double(String(decoding: bytes[signStart..<i], as: UTF8.self)) else { return nil }
        return (value, i)
    }

    /// C's isspace in the C locale; kept here rather than on UInt8, where HMP has its own.
    static func isCSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }

    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
}
