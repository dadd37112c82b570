import Glibc
import Platform

/// `migrate` without -d: the monitor that typed it waits, outside the command lock so that other monitors can
/// still `migrate_cancel`, and prints QEMU's `Completed N %\r` once a second for block migration (the seed's
/// hmp_migrate_status_cb). Lines typed meanwhile stay unread and run afterwards.
///
/// A socket client that goes away (or is dropped for not reading) while it waits detaches the migration, as
/// `-d` would: it goes on, any monitor can `migrate_cancel` it, and its end is broadcast to the monitors left.
struct SynchronousMigration {
    let migration: any MigrationHandle
    let watch: MigrationWatch
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
            if let client = session.client {
                guard clientStaysFor(milliseconds: 20, client) else {
                    // Whether or not the migration ended meanwhile, there is no one left here to tell.
                    _ = watch.detach()
                    return
                }
            } else {
                usleep(20_000)
            }
        }
        let info = migration.info
        if isBlock { session.write("\n") }
        if info.status == .failed { session.print(MigrationStatusText.errorLine(info)) }
    }

    /// Waits up to `milliseconds`, flushing the client's output as its socket takes it, without reading what it
    /// types; false once it has hung up, failed or been dropped, and then it is dropped for good.
    private func clientStaysFor(milliseconds: Int32, _ client: ClientOutput) -> Bool {
        // POLLHUP and POLLERR are reported even when not asked for; POLLIN is not asked for, as the lines it
        // types wait for the migration to end.
        var fds = [pollfd(fd: client.descriptor, events: client.hasPending ? Int16(POLLOUT) : 0, revents: 0),
                   pollfd(fd: client.wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, milliseconds)
        if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 || client.isDropped {
            client.drop()
            return false
        }
        if fds[0].revents & Int16(POLLOUT) != 0 || fds[1].revents != 0 { client.flush() }
        return true
    }
}
