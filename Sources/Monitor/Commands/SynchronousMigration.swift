import Glibc
import Platform

/// `migrate` without -d on a pipe or a socket: the monitor that typed it is suspended, outside the command lock
/// so that other monitors can still `migrate_cancel`, and QEMU's `Completed N %\r` is printed once a second for
/// block migration (the seed's hmp_migrate_status_cb). Lines typed meanwhile stay unread and run afterwards.
///
/// It is a timer on the event loop, not a wait: every other monitor is served meanwhile. A socket client that
/// goes away (or is dropped for not reading) while suspended detaches the migration, as `-d` would: it goes on,
/// any monitor can `migrate_cancel` it, and its end is broadcast to the monitors left.
final class SynchronousMigration {
    let migration: any MigrationHandle
    let watch: MigrationWatch
    let session: MonitorSession
    private let loop: EventLoop
    private var timer: EventLoop.TimerID?
    private var lastReport: UInt64?

    /// How often the migration's state is looked at: its end is seen within this.
    static let checkMilliseconds: UInt64 = 20

    init(migration: any MigrationHandle, watch: MigrationWatch, session: MonitorSession, loop: EventLoop) {
        self.migration = migration
        self.watch = watch
        self.session = session
        self.loop = loop
    }

    /// Starts watching; `finished` is called on the loop once the migration has ended and its end is printed.
    func start(finished: @escaping () -> Void) {
        report()
        timer = loop.every(milliseconds: Self.checkMilliseconds) { [unowned self] in
            guard migration.info.status.isFinished else {
                report()
                return
            }
            stopTimer()
            let info = migration.info
            if migration.blockMode != .none { session.write("\n") }
            if info.status == .failed { session.print(MigrationStatusText.errorLine(info)) }
            finished()
        }
    }

    /// The monitor went away: the migration goes on detached, and whoever is left hears of its end.
    func abandon() {
        stopTimer()
        _ = watch.detach()
    }

    private func stopTimer() {
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    private func report() {
        guard migration.blockMode != .none else { return }
        let info = migration.info
        let now = Clock.milliseconds()
        // Until setup has sized the disks there is nothing to report (QEMU would say 100 %).
        guard lastReport.map({ now - $0 >= 1000 }) ?? true, let disk = info.disk, disk.total > 0,
            info.status == .active || info.status == .setup
        else { return }
        session.write("Completed \(disk.percent) %\r")
        lastReport = now
    }
}
