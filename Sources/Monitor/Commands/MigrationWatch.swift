import Synchronization

/// Who reports a migration's end: the monitor waiting for it, or, once it is detached (`-d`, or ^Z while
/// waiting), a line broadcast to every monitor. Exactly one of them does, whichever order the end and the
/// detach come in.
final class MigrationWatch: Sendable {
    private static let waiting = 0, detached = 1, finished = 2
    private let state: Atomic<Int>

    init(detached: Bool) {
        state = Atomic(detached ? MigrationWatch.detached : MigrationWatch.waiting)
    }

    /// Called by the migration's end; true when the end is to be broadcast.
    func finish() -> Bool {
        state.exchange(MigrationWatch.finished, ordering: .sequentiallyConsistent) == MigrationWatch.detached
    }

    /// Called when the person detaches; false when the migration had already ended, so the caller reports it.
    func detach() -> Bool {
        state.compareExchange(
            expected: MigrationWatch.waiting, desired: MigrationWatch.detached, ordering: .sequentiallyConsistent
        ).exchanged
    }
}
