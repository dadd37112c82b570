import Machine

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
    /// so no tray line).
    static func blockLines(_ devices: [BlockDevice]) -> [String] {
        var lines: [String] = []
        for (index, device) in devices.enumerated() {
            if index > 0 { lines.append("") }
            let flags = device.readOnly ? ", read-only" : ""
            lines.append("\(device.id) (\(device.nodeName)): \(device.path) (\(device.format)\(flags))")
            lines.append("    Cache mode:       \(device.cacheMode)")
        }
        return lines
    }

    /// `%0.2f` without Foundation.
    static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int64((max(0, value) * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
