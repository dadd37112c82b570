import MigrationModel

/// The one place values become HMP text, as QEMU 7.2 prints them, whichever backend supplied the values.
/// Migration's lines are in HMPFormat+Migration.swift.
enum HMPFormat {
    /// `info status`: `VM status: running`, `VM status: paused`, or the state in brackets for other stopped states,
    /// as in `VM status: paused (prelaunch)`.
    static func status(_ runState: RunState) -> String {
        switch runState {
        case .running: return "VM status: running"
        case .paused: return "VM status: paused"
        default: return "VM status: paused (\(runState.rawValue))"
        }
    }

    /// `info block`: each drive's lines, a blank line between drives as QEMU prints them (no removable devices,
    /// so no tray line). A QMP peer names the drives: they go through TerminalSafeText.
    static func blockLines(_ devices: [BlockDevice]) -> [String] {
        var lines: [String] = []
        for (index, device) in devices.enumerated() {
            if index > 0 { lines.append("") }
            let flags = device.readOnly ? ", read-only" : ""
            lines.append(TerminalSafeText.singleLine(
                "\(device.id) (\(device.nodeName)): \(device.path) (\(device.format)\(flags))"))
            lines.append(TerminalSafeText.singleLine("    Cache mode:       \(device.cacheMode)"))
        }
        return lines
    }

    /// `%0.2f` without Foundation, as glibc's printf writes it for QEMU: the double's exact binary value rounded
    /// half to even, every digit of a huge one, `-` for a negative one (`-0.00` too), `inf`, `-inf`, `nan` and
    /// `-nan`. A peer's figure may be any of these; none traps.
    static func twoDecimals(_ value: Double) -> String {
        let sign = value.sign == .minus ? "-" : ""
        if value.isNaN { return sign + "nan" }
        if value.isInfinite { return sign + "inf" }
        // |value| = significand × 2^exponent exactly.
        let bits = value.magnitude.bitPattern
        let biased = Int(bits >> 52)
        let fraction = bits & (1 << 52 - 1)
        let significand = biased == 0 ? fraction : fraction | 1 << 52
        let exponent = (biased == 0 ? 1 : biased) - 1075
        if exponent >= 0 { return sign + decimal(significand, timesPowerOfTwo: exponent) + ".00" }
        // Hundredths: significand × 100 < 2^60, shifted right with the remainder rounded half to even.
        let scaled = significand * 100
        let shift = -exponent
        var hundredths: UInt64 = 0
        if shift <= 60 {
            hundredths = scaled >> UInt64(shift)
            let remainder = scaled & (1 << UInt64(shift) - 1), half: UInt64 = 1 << UInt64(shift - 1)
            if remainder > half || (remainder == half && hundredths & 1 == 1) { hundredths += 1 }
        }
        let cents = hundredths % 100
        return sign + "\(hundredths / 100)." + (cents < 10 ? "0" : "") + "\(cents)"
    }

    /// `value × 2^power` in decimal digits, however large (a double reaches 309 digits).
    private static func decimal(_ value: UInt64, timesPowerOfTwo power: Int) -> String {
        if power <= value.leadingZeroBitCount { return "\(value << UInt64(power))" }
        // Little-endian limbs of nine decimal digits, doubled `power` times.
        let base: UInt64 = 1_000_000_000
        var limbs = [value % base, (value / base) % base, value / base / base]
        for _ in 0..<power {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let doubled = limbs[i] * 2 + carry
                limbs[i] = doubled % base
                carry = doubled / base
            }
            if carry > 0 { limbs.append(carry) }
        }
        while limbs.count > 1, limbs.last == 0 { limbs.removeLast() }
        var text = "\(limbs.last ?? 0)"
        for limb in limbs.dropLast().reversed() {
            let digits = "\(limb)"
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }
}
