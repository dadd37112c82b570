/// Why a size text was refused, kept apart so that callers can word the error as QEMU does in each place
/// (`Invalid size abc` for max-bandwidth, `Value '…' is out of range` for option sizes).
public enum SizeParseFailure: Error, Sendable, Equatable {
    case invalid
    case outOfRange
}

/// QEMU's `qemu_strtosz`: a decimal number, optionally with a fraction, or a hexadecimal `0x…` integer, then an
/// optional suffix B, K, M, G, T, P or E (either case; binary multiples). Without a suffix the number counts in
/// `defaultUnit` bytes (1 for plain sizes, 1 MiB for `-m` and max-bandwidth). A fraction needs a unit larger than
/// one byte; hexadecimal takes neither fraction nor suffix. The result is rounded half up to whole bytes.
public func parseSize(_ text: String, defaultUnit: UInt64 = 1) throws(SizeParseFailure) -> UInt64 {
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
    guard i < bytes.count else { throw .invalid }
    if bytes[i] == UInt8(ascii: "+") { i += 1 }
    // A lone `+` (or `+` then blanks) has no number: every read below needs a byte at `i`.
    guard i < bytes.count else { throw .invalid }
    func digit(_ b: UInt8, radix: UInt64) -> UInt64? {
        let v: UInt64
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
        return v < radix ? v : nil
    }
    func integer(radix: UInt64) throws(SizeParseFailure) -> UInt64 {
        let start = i
        var value: UInt64 = 0
        var overflow = false
        while i < bytes.count, let d = digit(bytes[i], radix: radix) {
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(d)
            overflow = overflow || o1 || o2
            value = s
            i += 1
        }
        guard i > start else { throw .invalid }
        if overflow { throw .outOfRange }
        return value
    }

    var value: UInt64
    var fraction = 0.0
    var hasFraction = false
    if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "0"), bytes[i + 1] | 0x20 == UInt8(ascii: "x") {
        i += 2
        value = try integer(radix: 16)
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") || suffixMultiplier(bytes[i], unit: 1024) != nil {
            throw .invalid
        }
    } else {
        // QEMU wants an integral part: `.5M` is refused.
        if bytes[i] == UInt8(ascii: ".") { throw .invalid }
        value = try integer(radix: 10)
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            let start = i
            i += 1
            while i < bytes.count, digit(bytes[i], radix: 10) != nil { i += 1 }
            let digits = String(decoding: bytes[start..<i], as: UTF8.self)
            fraction = Double("0" + digits) ?? 0
            hasFraction = fraction != 0
        }
    }
    var multiplier = defaultUnit
    if i < bytes.count, let m = suffixMultiplier(bytes[i], unit: 1024) {
        multiplier = m
        i += 1
    }
    guard i == bytes.count else { throw .invalid }
    if multiplier == 1 {
        if hasFraction { throw .invalid }
        return value
    }
    let (high, low) = value.multipliedFullWidth(by: multiplier)
    guard high == 0 else { throw .outOfRange }
    let extra = (fraction * Double(multiplier)).rounded(.toNearestOrAwayFromZero)
    guard extra < 18_446_744_073_709_551_616.0 else { throw .outOfRange }
    let (sum, overflow) = low.addingReportingOverflow(UInt64(extra))
    guard !overflow else { throw .outOfRange }
    return sum
}

private func suffixMultiplier(_ byte: UInt8, unit: UInt64) -> UInt64? {
    switch byte | 0x20 {
    case UInt8(ascii: "b"): return 1
    case UInt8(ascii: "k"): return unit
    case UInt8(ascii: "m"): return unit << 10
    case UInt8(ascii: "g"): return unit << 20
    case UInt8(ascii: "t"): return unit << 30
    case UInt8(ascii: "p"): return unit << 40
    case UInt8(ascii: "e"): return unit << 50
    default: return nil
    }
}
