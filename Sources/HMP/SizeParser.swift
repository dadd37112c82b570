/// QEMU 7.2's qemu_strtosz_MiB for `o` arguments: a decimal number (or `0x` hex) with an optional fraction and an
/// optional B/K/M/G/T/P/E suffix in powers of 1024; no suffix means MiB. A fraction needs a unit larger than a
/// byte. QEMU warns on stderr about a suffix after hex; a pure parser has no stderr, so that is accepted silently.
enum SizeParser {
    /// The size and the index just past it, or nil where QEMU says `invalid size`.
    static func parse(_ bytes: [UInt8], from start: Int) -> (bytes: UInt64, end: Int)? {
        var number = CNumbers.strtoull(bytes, from: start, base: 10)
        guard number.end > start, !number.overflow else { return nil }
        guard !bytes[start..<number.end].contains(UInt8(ascii: "-")) else { return nil }
        var end = number.end
        func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
        var fraction = 0.0
        if number.value == 0 && at(end) | 0x20 == UInt8(ascii: "x") {
            number = CNumbers.strtoull(bytes, from: start, base: 16)
            guard number.end > start, !number.overflow else { return nil }
            end = number.end
            guard at(end) != UInt8(ascii: ".") else { return nil }
        } else if at(end) == UInt8(ascii: ".") {
            if let parsed = CNumbers.strtod(bytes, from: end), parsed.value.isFinite {
                guard !bytes[end..<parsed.end].contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) else { return nil }
                fraction = parsed.value
                end = parsed.end
            } else {
                end += 1  // "1." and "1.k" read as whole numbers
            }
        }
        var multiplier: UInt64 = 1 << 20
        if let unit = unit(at(end)) {
            multiplier = unit
            end += 1
        }
        if multiplier == 1 && fraction != 0 { return nil }
        let extra = UInt64(fraction * Double(multiplier))
        guard number.value <= (UInt64.max - extra) / multiplier else { return nil }
        return (number.value * multiplier + extra, end)
    }

    private static func unit(_ byte: UInt8) -> UInt64? {
        switch byte | 0x20 {
        case UInt8(ascii: "b"): return 1
        case UInt8(ascii: "k"): return 1 << 10
        case UInt8(ascii: "m"): return 1 << 20
        case UInt8(ascii: "g"): return 1 << 30
        case UInt8(ascii: "t"): return 1 << 40
        case UInt8(ascii: "p"): return 1 << 50
        case UInt8(ascii: "e"): return 1 << 60
        default: return nil
        }
    }
}
