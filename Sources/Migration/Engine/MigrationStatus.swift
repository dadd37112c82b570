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
