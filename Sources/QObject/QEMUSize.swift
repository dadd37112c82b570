/// Why a size text was refused (QEMU's -EINVAL and -ERANGE), kept apart so that callers can word the error as QEMU
/// does in each place (`Invalid size abc` for max-bandwidth, `Value '…' is out of range` for option sizes).
public enum SizeParseFailure: Error, Sendable, Equatable {
    case invalid
    case outOfRange
}

/// A size as QEMU 7.2's `qemu_strtosz` read it.
public struct ParsedSize: Sendable, Equatable {
    /// The size in bytes.
    public var bytes: UInt64
    /// Index just past what was read (the suffix included).
    public var end: Int
    /// A hexadecimal number with a multiplier suffix (`0x1k`): QEMU 7.2 takes it but warns, see
    /// `QEMUSize.hexSuffixWarning(_:)`.
    public var hexWithSuffix: Bool

    public init(bytes: UInt64, end: Int, hexWithSuffix: Bool) {
        self.bytes = bytes
        self.end = end
        self.hexWithSuffix = hexWithSuffix
    }
}

/// QEMU 7.2's `qemu_strtosz` (util/cutils.c, do_strtosz), the one size reader of hmp: every place hmp takes a size
/// (`-m`, the `o` argument type, `migrate_set_parameter`, workload rates) reads it here, so a text means the same
/// everywhere and the same as in QEMU 7.2.
///
/// The integral part is read by strtoull in base 10 (leading blanks and `+` allowed, any `-` refused). A `0` followed
/// by `x` is read again in base 16 and takes no fraction. Otherwise a `.` starts a fraction read by strtod; an
/// exponent in it is refused, and where strtod gives up (`1.k`) or its result is out of range the reader steps one
/// byte past where strtod stopped, as QEMU does. Then one optional suffix B, K, M, G, T, P or E (either case; powers
/// of 1024); without one the number counts in `defaultUnit` bytes (1 for plain sizes, 1 MiB for `-m` and
/// max-bandwidth). A fraction needs a unit larger than a byte. The fraction is kept as QEMU keeps it, a 64-bit
/// fixed-point number, so `1.99999999999999999999k` is 1024 (the fraction rounds to 1.0, which QEMU's conversion turns
/// into 0), and the product is rounded half up (`0.0005k` is 1 byte, not 0).
public enum QEMUSize {
    /// The size at `start` and where it ends, as `qemu_strtosz(text, &end, …)`: what follows is left to the caller.
    public static func parse(_ bytes: [UInt8], from start: Int, defaultUnit: UInt64) throws(SizeParseFailure)
        -> ParsedSize
    {
        let (result, _) = read(bytes, from: start, defaultUnit: defaultUnit)
        return try result.get()
    }

    /// The whole of `text` as a size, as `qemu_strtosz(text, NULL, …)`: anything left after it is invalid, even after
    /// a number too large (QEMU reports `99999999999999999999k` as invalid, `99999999999999999999` as out of range).
    public static func parse(_ text: String, defaultUnit: UInt64 = 1) throws(SizeParseFailure) -> ParsedSize {
        let bytes = Array(text.utf8)
        let (result, end) = read(bytes, from: 0, defaultUnit: defaultUnit)
        if end < bytes.count { throw .invalid }
        return try result.get()
    }

    /// QEMU 7.2's warning (printed on the monitor that took the command) for a hexadecimal size with a suffix.
    public static func hexSuffixWarning(_ text: String) -> String {
        "warning: Using a multiplier suffix on hex numbers is deprecated: \(text)"
    }

    /// do_strtosz: the result and where QEMU's `endptr` is left, which decides the whole-string check.
    private static func read(_ bytes: [UInt8], from start: Int, defaultUnit: UInt64)
        -> (Result<ParsedSize, SizeParseFailure>, end: Int)
    {
        func at(_ i: Int) -> UInt8 { i >= 0 && i < bytes.count ? bytes[i] : 0 }
        var integer = CNumbers.strtoull(bytes, from: start, base: 10)
        guard integer.end > start else { return (.failure(.invalid), start) }
        if integer.overflow { return (.failure(.outOfRange), integer.end) }
        if bytes[start..<integer.end].contains(UInt8(ascii: "-")) { return (.failure(.invalid), start) }
        var end = integer.end
        var hex = false
        var fraction: UInt64 = 0
        if integer.value == 0 && at(end) | 0x20 == UInt8(ascii: "x") {
            integer = CNumbers.strtoull(bytes, from: start, base: 16)
            end = integer.end
            if integer.overflow { return (.failure(.outOfRange), end) }
            if at(end) == UInt8(ascii: ".") { return (.failure(.invalid), start) }
            hex = true
        } else if at(end) == UInt8(ascii: ".") {
            if let (value, stop) = CNumbers.strtod(bytes, from: end) {
                // glibc's ERANGE: an overflow, or a nonzero fraction that reads as 0 or subnormal.
                let nonzero = bytes[(end + 1)..<stop].prefix { CNumbers.isDigit($0) }.contains { $0 != UInt8(ascii: "0") }
                if value.isInfinite || (nonzero && (value == 0 || value.isSubnormal)) {
                    end = stop + 1
                } else {
                    if bytes[end..<stop].contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) {
                        return (.failure(.invalid), start)
                    }
                    end = stop
                    // (uint64_t)(fraction * 0x1p64): a fraction that rounds up to 1.0 gives 2^64, which x86-64
                    // converts to 0.
                    let scaled = value * 0x1p64
                    fraction = scaled >= 0x1p64 ? 0 : UInt64(scaled)
                }
            } else {
                end += 1
            }
        }
        var multiplier = defaultUnit
        var suffixed = false
        if let unit = suffixMultiplier(at(end)) {
            multiplier = unit
            suffixed = true
            end += 1
        }
        end = min(end, bytes.count)
        var value = integer.value
        if multiplier == 1 {
            if fraction != 0 { return (.failure(.invalid), start) }
        } else {
            // 64.64 fixed point times a 64-bit multiplier, exactly; then 0.5 rounds upward.
            let whole = value.multipliedFullWidth(by: multiplier)
            let part = fraction.multipliedFullWidth(by: multiplier)
            var high = whole.high
            var carry: Bool
            (value, carry) = whole.low.addingReportingOverflow(part.high)
            if carry { high &+= 1 }
            (value, carry) = value.addingReportingOverflow(part.low >> 63)
            if carry { high &+= 1 }
            if high != 0 { return (.failure(.outOfRange), end) }
        }
        return (.success(ParsedSize(bytes: value, end: end, hexWithSuffix: hex && suffixed)), end)
    }

    private static func suffixMultiplier(_ byte: UInt8) -> UInt64? {
        switch byte | 0x20 {
        case UInt8(ascii: "b"): 1
        case UInt8(ascii: "k"): 1 << 10
        case UInt8(ascii: "m"): 1 << 20
        case UInt8(ascii: "g"): 1 << 30
        case UInt8(ascii: "t"): 1 << 40
        case UInt8(ascii: "p"): 1 << 50
        case UInt8(ascii: "e"): 1 << 60
        default: nil
        }
    }
}

/// The whole of `text` as a size (`qemu_strtosz` without an end pointer), in bytes.
public func parseSize(_ text: String, defaultUnit: UInt64 = 1) throws(SizeParseFailure) -> UInt64 {
    try QEMUSize.parse(text, defaultUnit: defaultUnit).bytes
}
