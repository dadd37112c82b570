import MigrationModel
import Platform
import QMP
import QObject

/// A migration a real QEMU runs. Its status changes arrive as MIGRATION events when QEMU sends them (the `events`
/// capability); its figures come from query-migrate, asked once a second in the background and never waited
/// for, so that the status line, ^C and every other monitor go on while QEMU is slow or stopped. The poll is also
/// the one fallback for a QEMU that sends no events.
///
/// Confined to the loop's thread, as its backend: `@unchecked Sendable` only because every MigrationHandle is (the
/// built-in engine's are read from its threads).
final class QMPMigration: MigrationHandle, @unchecked Sendable {
    let blockMode: BlockMigrationMode
    var outlivesMonitor: Bool { true }
    private let backend: QMPBackend
    private var latest = MigrationInfo()
    private var watching = QMPMigrationWatch()
    static let refreshMilliseconds: UInt64 = 1000

    init(backend: QMPBackend, blockMode: BlockMigrationMode) {
        self.backend = backend
        self.blockMode = blockMode
        latest.status = .setup
    }

    /// The last figures QEMU gave, with what it drops at completion kept from the sample before.
    var info: MigrationInfo {
        backend.loop.assertInLoop()
        if !latest.status.isFinished, Clock.milliseconds() - watching.askedAt >= Self.refreshMilliseconds { ask() }
        return latest
    }

    var unansweredMilliseconds: UInt64 { watching.unansweredMilliseconds }

    func cancel() {
        backend.cancelMigration()
        ask()
    }

    /// Watches until the migration has ended, then calls `onFinish` once, on the loop.
    func watch(onFinish: @escaping @Sendable (MigrationInfo) -> Void) {
        watching.onFinish = onFinish
        watching.observer = backend.events.observe { [weak self] event in
            guard let self, event.name == "MIGRATION", let status = event.event.data["status"]?.string else { return }
            // The event is the news; the figures that go with it (and the end, with its error) come from
            // query-migrate.
            if watching.onFinish == nil { return }
            let news = MigrationStatus(name: status)
            if !news.isFinished { latest.status = news }
            ask()
        }
        // The timer keeps the migration alive until it ends, whoever still holds it (a detached one: nobody).
        watching.timer = backend.loop.every(milliseconds: Self.refreshMilliseconds) { [self] in ask() }
        ask()
    }

    private func ask() {
        guard watching.onFinish != nil || !latest.status.isFinished, watching.ask() else { return }
        backend.client.send("query-migrate", timeout: QMPBackend.answerMilliseconds) { [weak self] result in
            guard let self else { return }
            watching.answered()
            guard case .success(let reply) = result, let reply = reply.dict else { return }
            take(MigrationInfo(queryMigrate: reply))
        }
    }

    private func take(_ fresh: MigrationInfo) {
        // Before QEMU has started it, or for a reply from an earlier migration's end, keep what was seen.
        if fresh.status == .none { return }
        var fresh = fresh
        // QEMU drops the disk figures once a block migration has completed: the summary still counts the disks,
        // all of which were sent by then.
        if fresh.disk == nil, let disk = latest.disk, fresh.status == .completed {
            fresh.disk = MigrationInfo.DiskStatistics(
                transferred: disk.transferred &+ disk.remaining, remaining: 0, total: disk.total)
        }
        latest = fresh
        guard fresh.status.isFinished, let finish = watching.end(backend) else { return }
        finish(fresh)
    }
}
