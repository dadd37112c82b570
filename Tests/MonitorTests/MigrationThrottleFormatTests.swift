import Migration
@testable import Monitor
import MigrationModel
import QObject
import Testing

/// Where auto-converge's throttle shows: `info migrate`'s `cpu throttle percentage` line after the disk figures,
/// query-migrate's `cpu-throttle-percentage` where QEMU's hash order puts it; and what hmp's engine adds for the
/// status line shows in neither.
@Suite struct MigrationThrottleFormatTests {
    func active() -> MigrationInfo {
        var info = MigrationInfo()
        info.status = .active
        info.ram.total = 64 << 20
        info.ram.remaining = 32 << 20
        info.disk = MigrationInfo.DiskStatistics(transferred: 1 << 20, remaining: 2 << 20, total: 3 << 20)
        info.cpuThrottlePercentage = 30
        info.sendQueue = MigrationInfo.SendQueue(queued: 1, capacity: 2)
        info.rateLimit = 64 << 20
        info.autoConverge = true
        info.recentPeriods = MigrationInfo.Period(dirtyBytes: 1, sentBytes: 2, milliseconds: 3)
        return info
    }

    @Test func infoMigratePrintsTheThrottleAfterTheDisk() {
        let lines = HMPFormat.migrationLines(active())
        #expect(lines.suffix(4) == [
            "transferred disk: 1024 kbytes", "remaining disk: 2048 kbytes", "total disk: 3072 kbytes",
            "cpu throttle percentage: 30",
        ])
        var none = active()
        none.cpuThrottlePercentage = nil
        #expect(!HMPFormat.migrationLines(none).contains { $0.hasPrefix("cpu throttle") })
    }

    @Test func queryMigrateHasItAfterExpectedDowntime() {
        let reply = active().queryMigrateReply
        #expect(reply.keys == ["expected-downtime", "cpu-throttle-percentage", "status", "disk", "setup-time",
                               "total-time", "ram"])
        #expect(reply["cpu-throttle-percentage"]?.uint == 30)
        var completed = active()
        completed.status = .completed
        completed.cpuThrottlePercentage = nil
        #expect(!completed.queryMigrateReply.keys.contains("cpu-throttle-percentage"))
    }

    @Test func aQEMUsThrottleIsReadBack() {
        var reply = active().queryMigrateReply
        reply["cpu-throttle-percentage"] = .uint(45)
        #expect(MigrationInfo(queryMigrate: reply).cpuThrottlePercentage == 45)
    }
}
