/// A snapshot of one migration's progress: what `info migrate` prints and what the status line draws.
/// Every figure is measured by the migration thread, none is derived from settings.
public struct MigrationInfo: Sendable, Equatable {
    public var status: MigrationStatus = .none
    public var errorDescription: String?
    /// Milliseconds since `migrate`, frozen when the migration ends.
    public var totalTime: UInt64 = 0
    /// Milliseconds the setup phase took (connect, header, first sections).
    public var setupTime: UInt64 = 0
    /// What stopping now would cost, from the last measured bandwidth (active only).
    public var expectedDowntime: UInt64 = 0
    /// How long the guest was stopped (completed only).
    public var downtime: UInt64?
    public var ram = RAMStatistics()
    /// Present for `-b` and `-i` migrations while they run.
    public var disk: DiskStatistics?
    /// Which pre-copy pass is running: the number of dirty-bitmap syncs so far.
    public var pass: UInt64 { ram.dirtySyncCount }

    public init() {}

    public struct RAMStatistics: Sendable, Equatable {
        public var transferred: UInt64 = 0
        public var remaining: UInt64 = 0
        public var total: UInt64 = 0
        public var duplicate: UInt64 = 0
        public var normal: UInt64 = 0
        public var normalBytes: UInt64 = 0
        public var dirtySyncCount: UInt64 = 0
        /// Megabits per second over the last measured window, as QEMU's `mbps`.
        public var mbps: Double = 0
        public var pagesPerSecond: UInt64 = 0
        /// Pages the guest dirtied per second, measured between the last two syncs.
        public var dirtyPagesRate: UInt64 = 0
        /// Bytes sent while the guest was stopped.
        public var downtimeBytes: UInt64 = 0
        public init() {}
    }

    public struct DiskStatistics: Sendable, Equatable {
        public var transferred: UInt64 = 0
        public var remaining: UInt64 = 0
        public var total: UInt64 = 0

        public init(transferred: UInt64 = 0, remaining: UInt64 = 0, total: UInt64 = 0) {
            self.transferred = transferred
            self.remaining = remaining
            self.total = total
        }

        /// QEMU's `Completed N %`: transferred × 100 / total in integers, 100 once nothing remains.
        public var percent: Int {
            guard remaining > 0, total > 0 else { return 100 }
            return Int(min(100, transferred * 100 / total))
        }
    }

    /// `info migrate`'s lines after the globals, as QEMU 7.2 prints them.
    public func infoLines() -> [String] {
        var lines = MigrationInfo.globals
        guard status != .none else { return lines }
        var statusLine = "Migration status: \(status.rawValue)"
        if status == .failed, let errorDescription { statusLine += " (\(errorDescription))" }
        lines.append(statusLine)
        lines.append("total time: \(totalTime) ms")
        let showsStatistics = status == .active || status == .completed || status == .cancelling
        if status == .active || status == .cancelling { lines.append("expected downtime: \(expectedDowntime) ms") }
        if status == .completed, let downtime { lines.append("downtime: \(downtime) ms") }
        if showsStatistics { lines.append("setup: \(setupTime) ms") }
        guard showsStatistics else { return lines }
        lines += [
            "transferred ram: \(ram.transferred >> 10) kbytes",
            "throughput: \(Self.twoDecimals(ram.mbps)) mbps",
            "remaining ram: \(ram.remaining >> 10) kbytes",
            "total ram: \(ram.total >> 10) kbytes",
            "duplicate: \(ram.duplicate) pages",
            "skipped: 0 pages",
            "normal: \(ram.normal) pages",
            "normal bytes: \(ram.normalBytes >> 10) kbytes",
            "dirty sync count: \(ram.dirtySyncCount)",
            "page size: 4 kbytes",
            "multifd bytes: 0 kbytes",
            "pages-per-second: \(ram.pagesPerSecond)",
        ]
        if ram.dirtyPagesRate > 0 { lines.append("dirty pages rate: \(ram.dirtyPagesRate) pages") }
        if ram.downtimeBytes > 0 { lines.append("downtime ram: \(ram.downtimeBytes >> 10) kbytes") }
        if let disk, status != .completed {
            lines += [
                "transferred disk: \(disk.transferred >> 10) kbytes",
                "remaining disk: \(disk.remaining >> 10) kbytes",
                "total disk: \(disk.total >> 10) kbytes",
            ]
        }
        return lines
    }

    /// The migration globals QEMU 7.2 prints first; hmp's stream is made with these settings.
    static let globals = [
        "globals:",
        "store-global-state: on",
        "only-migratable: off",
        "send-configuration: on",
        "send-section-footer: on",
        "decompress-error-check: on",
        "clear-bitmap-shift: 18",
    ]

    /// `%0.2f` without Foundation.
    public static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int64((max(0, value) * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
