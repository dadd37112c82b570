/// A snapshot of one migration's progress: what `info migrate` shows and what the status line draws (the
/// monitor's HMPFormat renders it).
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
    /// What QEMU's query-migrate includes, where a reply from a real QEMU says (nil: as the status implies for
    /// hmp's own engine). `info migrate` prints a line only for what is present, as QEMU's does.
    public var presence = Presence()
    /// The auto-converge throttle, when QEMU applies one.
    public var cpuThrottlePercentage: UInt64?
    /// Where a destination listens while it waits (`tcp:127.0.0.1:4444`).
    public var socketAddresses: [String] = []
    /// Why an outgoing migration would be refused (QEMU's `blocked-reasons`).
    public var blockedReasons: [String] = []

    // What hmp's own engine adds for the status line, never printed by `info migrate` nor sent by query-migrate;
    // nil for a migration seen through QMP, which does not tell.
    /// The outgoing channel's queue when last measured: a full one that does not drain is a destination that
    /// stopped reading.
    public var sendQueue: SendQueue?
    /// The max-bandwidth the engine applies now, bytes per second, 0 for no limit.
    public var rateLimit: UInt64?
    /// Whether the auto-converge capability was on when the migration began.
    public var autoConverge: Bool?
    /// The last few closed sync periods together: what the guest dirtied against what was sent over the same
    /// stretch of time, a steadier measure of headway than two rates taken over different windows.
    public var recentPeriods: Period?

    public struct Period: Sendable, Equatable {
        public var dirtyBytes: UInt64
        public var sentBytes: UInt64
        public var milliseconds: UInt64

        public init(dirtyBytes: UInt64, sentBytes: UInt64, milliseconds: UInt64) {
            self.dirtyBytes = dirtyBytes
            self.sentBytes = sentBytes
            self.milliseconds = milliseconds
        }
    }

    /// Bytes written to the channel that the destination has not taken yet, against what the channel holds
    /// (a socket's SO_SNDBUF, a pipe's capacity).
    public struct SendQueue: Sendable, Equatable {
        public var queued: UInt64
        public var capacity: UInt64

        public init(queued: UInt64, capacity: UInt64) {
            self.queued = queued
            self.capacity = capacity
        }

        /// Full enough that writes block: the kernel's accounting for a socket counts more than the payload, so
        /// its queue never reaches SO_SNDBUF in payload bytes; half of it is already a queue that is not moving.
        public var isFull: Bool { capacity > 0 && queued >= capacity / 2 }
    }

    public struct Presence: Sendable, Equatable {
        public var expectedDowntime: Bool?
        public var setupTime: Bool?
        public var ram: Bool?
        public init(expectedDowntime: Bool? = nil, setupTime: Bool? = nil, ram: Bool? = nil) {
            self.expectedDowntime = expectedDowntime
            self.setupTime = setupTime
            self.ram = ram
        }
    }

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
        /// Bytes sent before the guest stopped, and after it (postcopy), as QEMU 7.2 counts them.
        public var precopyBytes: UInt64 = 0
        public var postcopyBytes: UInt64 = 0
        public var postcopyRequests: UInt64 = 0
        public var skipped: UInt64 = 0
        public var pageSize: UInt64 = 4096
        public var multifdBytes: UInt64 = 0
        public var zeroCopyFallbacks: UInt64 = 0
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

        /// QEMU's `Completed N %`: transferred × 100 / total in integers, 100 once nothing remains. A QMP peer's
        /// figures may be anything: the product is taken full width (QEMU's would wrap), and the quotient of a
        /// transferred below total is below 100, so nothing traps.
        public var percent: Int {
            guard remaining > 0, total > 0, transferred < total else { return 100 }
            let product = transferred.multipliedFullWidth(by: 100)
            return Int(total.dividingFullWidth(product).quotient)
        }
    }
}
