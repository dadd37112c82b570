@testable import Migration
import MigrationModel
import Testing

/// QEMU 7.2's auto-converge rule, period by period: the trigger (dirty bytes above the threshold share of what
/// was sent, twice), the start at cpu-throttle-initial, the increments, tailslow, the cap, and the period itself.
@Suite struct AutoConvergeTests {
    let defaults = AutoConverge.Parameters(MigrationParameters())
    static let mib: UInt64 = 1 << 20

    /// A period in which the guest dirtied `dirty` MiB while `sent` MiB went out.
    func period(_ rule: inout AutoConverge, dirty: UInt64, sent: UInt64, _ p: AutoConverge.Parameters? = nil) -> Bool {
        rule.period(dirtyBytes: dirty * Self.mib, transferredBytes: sent * Self.mib, parameters: p ?? defaults)
    }

    @Test func startsAtInitialOnTheSecondHighPeriodThenAddsTheIncrement() {
        var rule = AutoConverge()
        #expect(!period(&rule, dirty: 60, sent: 100))
        #expect(rule.percentage == 0 && rule.highPeriods == 1)
        #expect(period(&rule, dirty: 60, sent: 100))
        #expect(rule.percentage == 20 && rule.highPeriods == 0)
        #expect(!period(&rule, dirty: 90, sent: 100))
        #expect(period(&rule, dirty: 90, sent: 100))
        #expect(rule.percentage == 30)
    }

    @Test func aLowPeriodNeitherCountsNorResetsTheCount() {
        var rule = AutoConverge()
        _ = period(&rule, dirty: 51, sent: 100)
        // Exactly the threshold is not above it.
        #expect(!period(&rule, dirty: 50, sent: 100))
        #expect(rule.highPeriods == 1 && rule.percentage == 0)
        #expect(period(&rule, dirty: 51, sent: 100))
        #expect(rule.percentage == 20)
    }

    @Test func theThresholdIsAParameter() {
        var p = defaults
        p.triggerThreshold = 90
        var rule = AutoConverge()
        #expect(!period(&rule, dirty: 80, sent: 100, p) && !period(&rule, dirty: 80, sent: 100, p))
        #expect(rule.percentage == 0)
        p.triggerThreshold = 10
        #expect(!period(&rule, dirty: 11, sent: 100, p) && period(&rule, dirty: 11, sent: 100, p))
    }

    @Test func capsAtMaxCPUThrottle() {
        var p = defaults
        p.initial = 60
        p.increment = 25
        p.maximum = 80
        var rule = AutoConverge()
        for _ in 0..<2 { _ = period(&rule, dirty: 100, sent: 100, p) }
        #expect(rule.percentage == 60)
        for _ in 0..<2 { _ = period(&rule, dirty: 100, sent: 100, p) }
        #expect(rule.percentage == 80)
        // Already at the cap: a high pair changes nothing.
        #expect(!period(&rule, dirty: 100, sent: 100, p) && !period(&rule, dirty: 100, sent: 100, p))
        #expect(rule.percentage == 80)
    }

    @Test func neverAbove99() {
        var p = defaults
        p.initial = 95
        p.increment = 99
        p.maximum = 99
        var rule = AutoConverge()
        for _ in 0..<4 { _ = period(&rule, dirty: 100, sent: 100, p) }
        #expect(rule.percentage == 99)
    }

    /// cpu_now = 100 − 20 = 80; cpu_ideal = 80 × (50 / 64) = 62.5, truncated to 62; increment min(18, 10) = 10.
    @Test func tailslowRaisesByWhatBringsTheDirtyBytesToTheThreshold() {
        var p = defaults
        p.tailslow = true
        var rule = AutoConverge()
        for _ in 0..<2 { _ = period(&rule, dirty: 64, sent: 100, p) }
        #expect(rule.percentage == 20, "the start is cpu-throttle-initial, tailslow or not")
        for _ in 0..<2 { _ = period(&rule, dirty: 64, sent: 100, p) }
        #expect(rule.percentage == 30)
        for _ in 0..<2 { _ = period(&rule, dirty: 52, sent: 100, p) }
        // cpu_now 70; 70 × 50/52 = 67.3 → 67; min(3, 10) = 3.
        #expect(rule.percentage == 33)
    }

    @Test func stopRemovesTheThrottle() {
        var rule = AutoConverge()
        for _ in 0..<2 { _ = period(&rule, dirty: 100, sent: 100) }
        rule.stop()
        #expect(rule.percentage == 0 && rule.highPeriods == 0)
    }

    @Test func hugeFiguresDoNotTrap() {
        var rule = AutoConverge()
        _ = rule.period(dirtyBytes: .max, transferredBytes: .max, parameters: defaults)
        _ = rule.period(dirtyBytes: .max, transferredBytes: 0, parameters: defaults)
        #expect(rule.percentage == 20)
        _ = rule.period(dirtyBytes: 0, transferredBytes: .max, parameters: defaults)
    }

    @Test func aPeriodClosesAtTheFirstSyncMoreThanASecondAfterItBegan() {
        var period = SyncPeriod(start: 10_000)
        #expect(period.sync(newlyDirty: 100, transferred: 4 << 20, now: 10_600) == nil)
        #expect(period.sync(newlyDirty: 50, transferred: 6 << 20, now: 11_000) == nil, "exactly a second is not more")
        let closed = period.sync(newlyDirty: 150, transferred: 8 << 20, now: 11_500)
        #expect(closed == SyncPeriod.Closed(dirtyPages: 300, transferredBytes: 8 << 20, milliseconds: 1500))
        #expect(closed?.dirtyPagesRate == 200)
        let next = period.sync(newlyDirty: 10, transferred: 9 << 20, now: 12_600)
        #expect(next == SyncPeriod.Closed(dirtyPages: 10, transferredBytes: 1 << 20, milliseconds: 1100))
    }
}
