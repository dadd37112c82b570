import MigrationModel
import Platform

/// What a migration driven over QMP keeps while it runs: the one query it has out at a time (query-migrate,
/// query-block-jobs: none is sent while one is unanswered), its poll timer, its event subscription, and who hears
/// of its end. `end` lets go of them all, once. On the loop's thread, as the migration.
struct QMPMigrationWatch {
    private(set) var isAsking = false
    /// When the last query was sent.
    private(set) var askedAt: UInt64 = 0
    var timer: EventLoop.TimerID?
    var observer: BackendEventRelay.ObserverID?
    var onFinish: (@Sendable (MigrationInfo) -> Void)?

    /// Marks a query sent; false, and nothing to send, while one is out.
    mutating func ask() -> Bool {
        guard !isAsking else { return false }
        isAsking = true
        askedAt = Clock.milliseconds()
        return true
    }

    /// The query's answer came (or news made it stale): the next one may go.
    mutating func answered() { isAsking = false }

    var unansweredMilliseconds: UInt64 { isAsking ? Clock.milliseconds() - askedAt : 0 }

    /// Cancels the timer and the subscription; returns who is to hear of the end, the first time only.
    mutating func end(_ backend: QMPBackend) -> (@Sendable (MigrationInfo) -> Void)? {
        if let timer { backend.loop.cancel(timer) }
        if let observer { backend.events.removeObserver(observer) }
        timer = nil
        observer = nil
        defer { onFinish = nil }
        return onFinish
    }
}
