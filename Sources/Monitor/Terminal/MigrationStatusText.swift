import Machine
import Migration

/// The words of the migration status line and of the summary that replaces it. Pure, so that tests can read it.
enum MigrationStatusText {
    static let keys = "^C cancel, ^Z detach"

    /// The status line for `info`, cut to `width` columns by dropping the least useful parts first.
    /// `stalledSeconds` is how long nothing has been sent.
    static func line(_ info: MigrationInfo, width: Int, stalledSeconds: Int) -> String {
        var parts: [String] = []
        if let disk = info.disk, disk.total > 0 { parts.append("Completed \(disk.percent) %") }
        if info.status == .setup { parts.append("connecting") }
        if info.status == .cancelling { parts.append("cancelling") }
        let ramDone = info.ram.total - min(info.ram.total, info.ram.remaining)
        parts.append("RAM \(mebibytes(ramDone))/\(mebibytes(info.ram.total)) MiB")
        if let disk = info.disk, disk.total > 0 {
            parts.append("disk \(mebibytes(disk.total - min(disk.total, disk.remaining)))/\(mebibytes(disk.total)) MiB")
        }
        if stalledSeconds >= 5 {
            parts.append("no progress for \(stalledSeconds) s: raise max-bandwidth or downtime-limit")
        }
        let rate = bytesPerSecond(info)
        let left = info.ram.remaining + (info.disk?.remaining ?? 0)
        var optional: [String] = [keys]
        if rate > 0 { optional.append("\(mebibytes(UInt64(rate))) MiB/s") }
        optional.append("\(mebibytes(left)) MiB left")
        if rate > 0 { optional.append("ETA \(duration(Double(left) / rate))") }
        if info.pass > 0 {
            let dirty = Double(info.ram.dirtyPagesRate) * 4096
            optional.append("pass \(info.pass + 1), dirtying \(mebibytes(UInt64(dirty))) MiB/s")
        }
        var line = parts.joined(separator: " · ")
        // The keys matter most after the essentials; the rest fill what room is left, in order.
        for part in optional where line.count + 3 + part.count <= width {
            line += " · " + part
        }
        return String(line.prefix(max(0, width)))
    }

    /// One line saying how a migration ended; after a failure or a cancel it says what the guest here is doing
    /// now (`runState`), since a guest that was paused stays paused.
    static func summary(_ info: MigrationInfo, runState: RunState) -> String {
        let guest = switch runState {
        case .running: "the guest keeps running here"
        case .paused: "the guest is still paused here"
        default: "the guest is still paused here (\(runState.rawValue))"
        }
        switch info.status {
        case .completed:
            let sent = info.ram.transferred + (info.disk?.transferred ?? 0)
            let seconds = Double(max(1, info.totalTime)) / 1000
            return "Migration completed in \(HMPFormat.twoDecimals(seconds)) s: downtime \(info.downtime ?? 0) ms, "
                + "\(mebibytes(sent)) MiB sent at \(mebibytes(UInt64(Double(sent) / seconds))) MiB/s"
        case .failed:
            return "Migration failed: \(info.errorDescription ?? "unknown error"); \(guest)"
        case .cancelled:
            return "Migration cancelled; \(guest)"
        default:
            return "Migration \(info.status.rawValue)"
        }
    }

    /// What a pipe or socket monitor prints for a failed migration, as QEMU's hmp_handle_error would.
    static func errorLine(_ info: MigrationInfo) -> String {
        "Error: \(info.errorDescription ?? "migration failed")"
    }

    static func bytesPerSecond(_ info: MigrationInfo) -> Double {
        info.ram.mbps * 1_000_000 / 8
    }

    static func mebibytes(_ bytes: UInt64) -> UInt64 { (bytes + (1 << 19)) >> 20 }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        return total >= 3600
            ? "\(total / 3600):" + twoDigits((total / 60) % 60) + ":" + twoDigits(total % 60)
            : "\(total / 60):" + twoDigits(total % 60)
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
