public import MigrationModel

/// A change an outgoing migration went through, as it happens: what QMP's MIGRATION and MIGRATION_PASS events
/// report. Observers are called on whichever thread made the change, possibly under the monitor's command lock
/// (migrate_cancel): they must only record it.
public enum MigrationEvent: Sendable, Equatable {
    case status(MigrationStatus)
    /// A pre-copy pass began: the dirty bitmap was synced for the Nth time.
    case pass(UInt64)
}

public typealias MigrationEventObserver = @Sendable (MigrationEvent) -> Void
