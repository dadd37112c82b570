import MigrationModel

/// A running (or ended) outgoing migration, for whoever waits for it: the status line, `Completed N %` lines.
protocol MigrationHandle: AnyObject, Sendable {
    var info: MigrationInfo { get }
    var blockMode: BlockMigrationMode { get }
    func cancel()
    /// True when the migration belongs to a machine that goes on without hmp (a QEMU reached over QMP): hmp
    /// leaving then does not cancel it.
    var outlivesMonitor: Bool { get }
    /// How long the machine has left a question about this migration unanswered (a QEMU that is stopped or
    /// stuck); 0 while it answers.
    var unansweredMilliseconds: UInt64 { get }
}

extension MigrationHandle {
    var outlivesMonitor: Bool { false }
    var unansweredMilliseconds: UInt64 { 0 }
}
