import Migration
import Platform
import Synchronization

/// A migration a real QEMU runs, seen through query-migrate: its figures are fetched at most once a second
/// however often the status line asks, and a watcher reports its end to whoever started it.
final class QMPMigration: MigrationHandle {
    let blockMode: BlockMigrationMode
    var outlivesMonitor: Bool { true }
    private let backend: QMPBackend
    private let cached = Mutex<(info: MigrationInfo, at: UInt64)?>(nil)
    static let refreshMilliseconds: UInt64 = 1000

    init(backend: QMPBackend, blockMode: BlockMigrationMode) {
        self.backend = backend
        self.blockMode = blockMode
    }

    var info: MigrationInfo {
        let now = Clock.milliseconds()
        if let (info, at) = cached.withLock({ $0 }), now - at < QMPMigration.refreshMilliseconds || info.status.isFinished {
            return info
        }
        let fresh = backend.migrationInfo
        cached.withLock { $0 = (fresh, now) }
        return fresh
    }

    func cancel() {
        backend.cancelMigration()
        cached.withLock { $0 = nil }
    }

    /// Polls from the loop until the migration has ended, then calls `onFinish` once.
    func watch(onFinish: @escaping @Sendable (MigrationInfo) -> Void) {
        let loop = backend.loop
        var timer: EventLoop.TimerID?
        timer = loop.every(milliseconds: QMPMigration.refreshMilliseconds) { [self] in
            let current = info
            guard current.status.isFinished || current.status == .none else { return }
            if let timer { loop.cancel(timer) }
            timer = nil
            onFinish(current)
        }
    }
}
