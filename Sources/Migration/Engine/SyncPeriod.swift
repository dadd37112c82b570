/// QEMU's measuring period between dirty-bitmap syncs (RAMState's time_last_bitmap_sync, num_dirty_pages_period
/// and bytes_xfer_prev): syncs add their newly dirty pages to the period until more than a second has gone by; then
/// the period is closed, its figures give the dirty-pages rate and feed auto-converge, and a new one begins.
struct SyncPeriod {
    /// The figures of a closed period.
    struct Closed: Equatable {
        var dirtyPages: UInt64
        var transferredBytes: UInt64
        var milliseconds: UInt64

        /// dirty_pages_rate: pages per second over the period.
        var dirtyPagesRate: UInt64 {
            let (product, overflow) = dirtyPages.multipliedReportingOverflow(by: 1000)
            return overflow ? UInt64.max / max(1, milliseconds) : product / max(1, milliseconds)
        }
    }

    private var start: UInt64
    private var dirtyPages: UInt64 = 0
    private var transferredAtStart: UInt64 = 0

    /// The period begins at the first sync, which for hmp is the end of setup.
    init(start: UInt64) {
        self.start = start
    }

    /// A sync at `now` (milliseconds) found `newlyDirty` pages; `transferred` is the RAM bytes sent so far.
    mutating func sync(newlyDirty: UInt64, transferred: UInt64, now: UInt64) -> Closed? {
        dirtyPages &+= newlyDirty
        guard now > start + 1000 else { return nil }
        let closed = Closed(
            dirtyPages: dirtyPages, transferredBytes: transferred &- transferredAtStart, milliseconds: now - start)
        start = now
        dirtyPages = 0
        transferredAtStart = transferred
        return closed
    }
}
