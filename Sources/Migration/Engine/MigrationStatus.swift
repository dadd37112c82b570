/// Where an outgoing migration is, with QEMU's names (qapi MigrationStatus), as `info migrate` and
/// `query-migrate` show them.
public enum MigrationStatus: String, Sendable, Equatable {
    case none
    case setup
    case cancelling
    case cancelled
    case active
    case completed
    case failed

    /// A migration in one of these states holds the machine: another `migrate` is refused.
    public var isRunning: Bool {
        self == .setup || self == .active || self == .cancelling
    }

    public var isFinished: Bool {
        self == .completed || self == .failed || self == .cancelled
    }
}

/// A change an outgoing migration went through, as it happens: what QMP's MIGRATION and MIGRATION_PASS events
/// report. Observers are called on whichever thread made the change, possibly under the monitor's command lock
/// (migrate_cancel): they must only record it.
public enum MigrationEvent: Sendable, Equatable {
    case status(MigrationStatus)
    /// A pre-copy pass began: the dirty bitmap was synced for the Nth time.
    case pass(UInt64)
}

public typealias MigrationEventObserver = @Sendable (MigrationEvent) -> Void
