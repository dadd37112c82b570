import Migration
@testable import Monitor
import MigrationModel
import Testing

/// The status line's words and layout, from MigrationInfo values as the engine measures them: the leading figure,
/// the estimate with the dirty rate, not converging and its remedies, the throttle, the stall causes, and what
/// stays at 80 and 60 columns.
@Suite struct MigrationStatusTextTests {
    static let mib: UInt64 = 1 << 20

    /// An active RAM migration of 256 MiB with `left` MiB to go, sending at `rate` MiB/s; `dirty` MiB/s dirtied
    /// as measured over the last sync period (in pass 2 or later when non-zero).
    func info(left: UInt64 = 100, rate: Double = 64, dirty: UInt64 = 0, pass: UInt64 = 0,
              limit: UInt64 = 128 << 20) -> MigrationInfo {
        var info = MigrationInfo()
        info.status = .active
        info.ram.total = 256 * Self.mib
        info.ram.remaining = left * Self.mib
        info.ram.mbps = rate * Double(Self.mib) * 8 / 1_000_000
        info.ram.dirtySyncCount = pass
        info.ram.dirtyPagesRate = dirty * Self.mib / 4096
        info.rateLimit = limit
        info.autoConverge = false
        return info
    }

    func line(_ info: MigrationInfo, width: Int = 250, stalled: Int = 0) -> String {
        MigrationStatusText.line(info, width: width, stalledSeconds: stalled)
    }

    @Test func wideLineHasEverything() {
        #expect(line(info()) == "Completed 60 % · 64 MiB/s · 100 MiB left · ETA 0:02 · RAM 156/256 MiB · "
                + "^C cancel, ^Z detach")
    }

    /// In its first second a migration has no rate yet: the line says it is being measured, not `0 MiB/s`. After
    /// that a rate of 0 is true and is shown.
    @Test func noRateYetIsMeasuringNotZero() {
        var fresh = info(left: 256, rate: 0)
        fresh.totalTime = 120
        fresh.setupTime = 20
        #expect(line(fresh) == "Completed 0 % · measuring the rate · 256 MiB left · RAM 0/256 MiB · ^C cancel, ^Z detach")
        #expect(line(fresh, width: 40) == "Completed 0 % · measuring · 256 MiB left", "\(line(fresh, width: 40))")
        fresh.totalTime = 1500
        #expect(line(fresh).hasPrefix("Completed 0 % · 0 MiB/s · 256 MiB left"), "\(line(fresh))")
    }

    @Test func theEstimateAccountsForTheDirtyRate() {
        // 100 MiB at 64 − 24 = 40 MiB/s of headway: 2.5 s, rounded up.
        let text = line(info(dirty: 24, pass: 2))
        #expect(text.hasPrefix("Completed 60 % (pass 2) · 64 MiB/s · 100 MiB left · ETA 0:03 · "), "\(text)")
        #expect(text.contains("dirtying 24 MiB/s"), "\(text)")
    }

    @Test func theLeadingFigureCountsTheDisksAndStaysBelow100UntilCompleted() {
        var value = info(left: 0)
        value.ram.remaining = 0
        value.disk = MigrationInfo.DiskStatistics(transferred: 255 * Self.mib, remaining: 1 * Self.mib,
                                                  total: 256 * Self.mib)
        // 511 of 512 MiB is 99.8 %: rounded down, and never 100 while a byte is left.
        #expect(line(value).hasPrefix("Completed 99 % · 64 MiB/s · 1 MiB left"), "\(line(value))")
        value.disk?.remaining = 0
        #expect(MigrationStatusText.progressPercent(value) == 99, "not completed yet")
        value.status = .completed
        #expect(MigrationStatusText.progressPercent(value) == 100)
        // A block migration still sizing its disks has no figure yet.
        value.status = .active
        value.disk = MigrationInfo.DiskStatistics()
        #expect(MigrationStatusText.progressPercent(value) == nil)
    }

    @Test func qemusOwnFigureComesFirstOnADumbTerminal() {
        var value = info()
        value.disk = MigrationInfo.DiskStatistics(transferred: 128 * Self.mib, remaining: 128 * Self.mib,
                                                  total: 256 * Self.mib)
        let text = MigrationStatusText.line(value, width: 200, stalledSeconds: 0, qemuFigure: true)
        #expect(text.hasPrefix("Completed 50 % · 55 % migrated · "), "\(text)")
        #expect(line(value).hasPrefix("Completed 55 % · "), "a pinned line has only the whole migration's figure")
        #expect(line(value).split(separator: "Completed").count == 1, "\(line(value))")
    }

    @Test func notConvergingAtTheBandwidthLimit() {
        let text = line(info(rate: 64, dirty: 64, pass: 4, limit: 64 << 20))
        #expect(text.hasPrefix("Completed 60 % (pass 4) · 64 MiB/s · 100 MiB left · not converging · "), "\(text)")
        #expect(text.contains("guest dirties 64 MiB/s, at max-bandwidth: raise max-bandwidth or downtime-limit, "
                              + "or ^C and migrate_set_capability auto-converge on"), "\(text)")
        #expect(!text.contains("ETA"))
    }

    @Test func notConvergingBelowTheLimitIsTheLink() {
        let text = line(info(rate: 40, dirty: 45, pass: 2, limit: 128 << 20))
        #expect(text.contains("not converging · guest dirties 45 MiB/s, as fast as the link: raise downtime-limit, "
                              + "or ^C and migrate_set_capability auto-converge on"), "\(text)")
        #expect(!text.contains("raise max-bandwidth"), "more bandwidth would not help: \(text)")
    }

    @Test func aGuestDirtyingFourFifthsOfWhatIsSentIsNotConverging() {
        #expect(line(info(rate: 64, dirty: 52, pass: 2)).contains("not converging"))
        #expect(line(info(rate: 64, dirty: 50, pass: 2)).contains("ETA 0:08"))
    }

    /// hmp's engine reports the last periods' dirty and sent bytes over the same time: their share decides, and
    /// the estimate is what is left over the send rate's headway.
    @Test func recentPeriodsDecideOverTwoRatesTakenApart() {
        var value = info(rate: 64, dirty: 64, pass: 5)
        value.recentPeriods = MigrationInfo.Period(dirtyBytes: 96 * Self.mib, sentBytes: 192 * Self.mib,
                                                   milliseconds: 3000)
        // Half of what is sent comes back: 100 MiB at 32 MiB/s of headway.
        #expect(line(value).contains("ETA 0:04 · RAM 156/256 MiB · dirtying 32 MiB/s"), "\(line(value))")
        value.recentPeriods?.dirtyBytes = 160 * Self.mib
        #expect(line(value).contains("not converging · guest dirties 53 MiB/s"), "\(line(value))")
    }

    @Test func theThrottleShowsAndAutoConvergeIsNotSuggestedTwice() {
        var value = info(rate: 64, dirty: 64, pass: 6, limit: 64 << 20)
        value.autoConverge = true
        value.cpuThrottlePercentage = 30
        let text = line(value)
        #expect(text.contains("not converging · throttle 30 % · guest dirties 64 MiB/s: auto-converge slows"),
                "\(text)")
        #expect(!text.contains("migrate_set_capability"), "\(text)")
        var converging = info(dirty: 8, pass: 8)
        converging.cpuThrottlePercentage = 50
        #expect(line(converging).contains("ETA 0:02 · throttle 50 %"), "\(line(converging))")
    }

    /// Through QMP hmp does not know max-bandwidth nor the capability: the remedy names them all, unless a
    /// throttle shows that auto-converge is on.
    @Test func notConvergingOnAnotherQEMU() {
        var value = info(rate: 64, dirty: 64, pass: 4)
        value.rateLimit = nil
        value.autoConverge = nil
        #expect(line(value).contains("not converging · guest dirties 64 MiB/s: raise max-bandwidth or downtime-limit, "
                                     + "or ^C and migrate_set_capability auto-converge on"), "\(line(value))")
        value.cpuThrottlePercentage = 20
        #expect(line(value).contains("throttle 20 % · guest dirties 64 MiB/s: auto-converge slows"), "\(line(value))")
    }

    @Test func aDestinationThatStoppedReading() {
        var value = info(rate: 0)
        value.sendQueue = MigrationInfo.SendQueue(queued: 3 << 20, capacity: 4 << 20)
        let text = line(value, stalled: 4)
        #expect(text.hasPrefix("Completed 60 % · 0 MiB/s · 100 MiB left · stalled 4 s: destination not reading · "
                               + "its queue is full: is it stopped or overloaded? ^C cancels"),
                "\(text)")
        #expect(!text.contains("max-bandwidth"), "the limit is not the cause: \(text)")
        // Not yet three seconds: a busy peer, no cause named.
        #expect(!line(value, stalled: 2).contains("not reading"))
        // At 60 columns the cause stays, in place of the stall's length.
        let narrow = line(value, width: 59, stalled: 4)
        #expect(narrow == "Completed 60 % · 0 MiB/s · 100 MiB left · dest. not reading", "\(narrow)")
    }

    @Test func aStallWithAnEmptyQueueUnderATinyLimitIsTheLimit() {
        var value = info(rate: 0, limit: 100 << 10)
        value.sendQueue = MigrationInfo.SendQueue(queued: 0, capacity: 4 << 20)
        #expect(line(value, stalled: 5).contains("stalled 5 s: max-bandwidth 100 KiB/s · raise max-bandwidth"),
                "\(line(value, stalled: 5))")
        value.rateLimit = 64 << 20
        #expect(line(value, stalled: 5).contains("stalled 5 s · nothing moves"), "\(line(value, stalled: 5))")
    }

    @Test func eightyColumnsKeepTheNumbersAndDropTheKeysFirst() {
        var value = info(dirty: 8, pass: 2)
        value.disk = MigrationInfo.DiskStatistics(transferred: 200 * Self.mib, remaining: 56 * Self.mib,
                                                  total: 256 * Self.mib)
        let text = line(value, width: 79)
        #expect(text.count <= 79)
        #expect(text.hasPrefix("Completed 69 % (pass 2) · 64 MiB/s · 156 MiB left · ETA 0:03"), "\(text)")
        #expect(!text.contains("^C"), "the keys go first: \(text)")
        #expect(text.contains("RAM 156/256 MiB"), "\(text)")
    }

    @Test func sixtyColumnsKeepProgressRateLeftAndTheEstimate() {
        let value = info(dirty: 8, pass: 2)
        let text = line(value, width: 59)
        #expect(text.count <= 59)
        for part in ["60 %", "64 MiB/s", "100 MiB left", "ETA 0:02"] { #expect(text.contains(part), "\(text)") }
    }

    @Test func narrowNotConvergingKeepsAShortRemedy() {
        let value = info(rate: 64, dirty: 64, pass: 4, limit: 64 << 20)
        let eighty = line(value, width: 79)
        #expect(eighty.contains("not converging · raise max-bandwidth"), "\(eighty)")
        #expect(eighty.count <= 79)
        #expect(line(info(rate: 40, dirty: 45, pass: 2), width: 79).hasSuffix("not converging · try auto-converge"))
        let sixty = line(value, width: 59)
        #expect(sixty.hasPrefix("Completed 60 % · 64 MiB/s · 100 MiB left · not converging"), "\(sixty)")
        #expect(sixty.count <= 59)
    }

    @Test func slowRatesReadInKiB() {
        #expect(MigrationStatusText.rateText(300 * 1024) == "300 KiB/s")
        #expect(MigrationStatusText.rateText(0) == "0 MiB/s")
        #expect(MigrationStatusText.rateText(.infinity) == "0 MiB/s")
    }

    @Test func absurdFiguresFromAnotherQEMUDoNotTrap() {
        var value = info()
        value.ram.total = .max
        value.ram.remaining = .max
        value.ram.mbps = .greatestFiniteMagnitude
        value.ram.dirtySyncCount = .max
        value.ram.dirtyPagesRate = .max
        value.disk = MigrationInfo.DiskStatistics(transferred: .max, remaining: .max, total: .max)
        _ = line(value)
        value.ram.mbps = -.infinity
        _ = line(value, stalled: 9)
        value.ram.mbps = 1e-300
        value.ram.dirtyPagesRate = 0
        _ = line(value, width: 0)
        #expect(MigrationStatusText.duration(1e300) == "over 99 h")
        #expect(MigrationStatusText.duration(3725) == "1:02:05")
    }

    /// Before figures exist the line says what it waits for, with no zero that is not true.
    @Test func noFalseZerosBeforeTheFigures() {
        var setup = MigrationInfo()
        setup.status = .setup
        #expect(line(setup) == "connecting: waiting for the destination · ^C cancel, ^Z detach")
        var sizing = info()
        sizing.disk = MigrationInfo.DiskStatistics()
        #expect(line(sizing) == "sizing the disks · ^C cancel, ^Z detach", "left would miss the disks")
        var nothing = MigrationInfo()
        nothing.status = .active
        #expect(!line(nothing).contains("0 MiB"), "\(line(nothing))")
        for width in [100, 80, 60] { #expect(!line(setup, width: width).contains(" 0 ")) }
    }

    /// At 80 and 60 columns the figure of what moves now stays: the disk while RAM has not started.
    @Test func narrowLinesKeepWhatIsMovingNow() {
        var value = info(left: 256)
        value.disk = MigrationInfo.DiskStatistics(transferred: 128 * Self.mib, remaining: 128 * Self.mib, total: 256 * Self.mib)
        let eighty = line(value, width: 80)
        #expect(eighty.hasPrefix("Completed 25 % · "), "\(eighty)")
        #expect(eighty.contains("disk 128/256 MiB") && !eighty.contains("RAM"), "\(eighty)")
        #expect(line(value).contains("384 MiB left"), "left counts the disk")
    }

    /// A guest of mostly zero pages: what is left goes at the share of bytes really sent per page, not at 4 KiB a
    /// page, so the estimate is not many times too long.
    @Test func mostlyZeroPagesGetATrueEstimate() {
        var value = info(left: 192, rate: 8)
        // 64 MiB processed: 16384 pages of which 2048 were data (8 MiB sent) and the rest zero pages.
        value.ram.normal = 2048
        value.ram.duplicate = 14336
        value.ram.transferred = 8 * Self.mib
        // 192 MiB left at 1/8 on the wire is 24 MiB: 3 s at 8 MiB/s, not 24 s.
        #expect(line(value).contains("ETA 0:03"), "\(line(value))")
    }
}
