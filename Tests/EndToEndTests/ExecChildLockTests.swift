import Foundation
import Testing
import TestSupport

/// An exec: command that closes its stdin but keeps running fails the migration; hmp then gives it seconds to
/// end before killing it. That wait held the channel's lock, and `info migrate` on every monitor waited on it.
@Suite struct ExecChildLockTests {
    @Test func infoMigrateDoesNotWaitForALingeringCommand() throws {
        let hmp = try HMPProcess(["-m", "64", "-S"])
        defer { hmp.close() }
        #expect(hmp.run("migrate -d \"exec:exec 0<&-; sleep 30\"") == "")
        // Every answer within a second while the command lingers (it held the lock for up to 5 s).
        let start = Date()
        var slowest = 0.0
        var sawFailed = false
        while Date().timeIntervalSince(start) < 7 && !sawFailed {
            let asked = Date()
            let answer = hmp.run("info migrate", timeout: 10)
            slowest = max(slowest, Date().timeIntervalSince(asked))
            sawFailed = answer.contains("Migration status: failed")
            usleep(100_000)
        }
        #expect(sawFailed)
        #expect(slowest < 1, "info migrate took \(slowest) s")
    }
}
