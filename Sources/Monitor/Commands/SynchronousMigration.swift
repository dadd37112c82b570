import Glibc
import Platform
import Machine
import Migration

/// `migrate` without -d: the monitor that typed it waits, outside the command lock so that other monitors can
/// still `migrate_cancel`, and prints QEMU's `Completed N %\r` once a second for block migration (the seed's
/// hmp_migrate_status_cb). Lines typed meanwhile stay unread and run afterwards.
struct SynchronousMigration {
    let migration: OutgoingMigration
    let session: MonitorSession

    func wait() {
        let isBlock = migration.blockMode != .none
        var lastReport: UInt64?
        while true {
            let info = migration.info
            if info.status.isFinished { break }
            let now = Clock.milliseconds()
            // Until setup has sized the disks there is nothing to report (QEMU would say 100 %).
            if isBlock, lastReport.map({ now - $0 >= 1000 }) ?? true, let disk = info.disk, disk.total > 0,
                info.status == .active || info.status == .setup
            {
                session.write("Completed \(disk.percent) %\r")
                lastReport = now
            }
            usleep(20_000)
        }
        let info = migration.info
        if isBlock { session.write("\n") }
        if info.status == .failed { session.print(MigrationStatusText.errorLine(info)) }
    }
}
