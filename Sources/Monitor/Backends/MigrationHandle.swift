import Migration

/// A running (or ended) outgoing migration, for whoever waits for it: the status line, `Completed N %` lines.
protocol MigrationHandle: AnyObject, Sendable {
    var info: MigrationInfo { get }
    var blockMode: BlockMigrationMode { get }
    func cancel()
}
