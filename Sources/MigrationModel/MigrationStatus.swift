/// Where a migration is, with QEMU's names (qapi MigrationStatus, QEMU 7.2 to 10.x), as `info migrate` and
/// `query-migrate` show them. hmp's own engine goes through none, setup, active, cancelling and the three ends; a
/// QEMU reached over QMP may report any of them, or one newer than hmp, which is kept by its name.
public enum MigrationStatus: Sendable, Hashable {
    case none
    case setup
    case cancelling
    case cancelled
    case active
    case postcopyActive
    case postcopyPaused
    case postcopyRecoverSetup
    case postcopyRecover
    case completed
    case failed
    case colo
    case preSwitchover
    case device
    case waitUnplug
    /// A status this hmp does not know, by the name the QEMU gave it: shown as it is, never taken for an end.
    case other(String)

    private static let known: [(MigrationStatus, String)] = [
        (.none, "none"), (.setup, "setup"), (.cancelling, "cancelling"), (.cancelled, "cancelled"),
        (.active, "active"), (.postcopyActive, "postcopy-active"), (.postcopyPaused, "postcopy-paused"),
        (.postcopyRecoverSetup, "postcopy-recover-setup"), (.postcopyRecover, "postcopy-recover"),
        (.completed, "completed"), (.failed, "failed"), (.colo, "colo"), (.preSwitchover, "pre-switchover"),
        (.device, "device"), (.waitUnplug, "wait-unplug"),
    ]

    /// The status QEMU calls `name`; an unknown name is kept as `.other`.
    public init(name: String) {
        self = Self.known.first { $0.1 == name }?.0 ?? .other(name)
    }

    /// QEMU's name for it.
    public var rawValue: String {
        if case .other(let name) = self { return name }
        return Self.known.first { $0.0 == self }?.1 ?? "none"
    }

    /// A migration in one of these states holds the machine: another `migrate` is refused.
    public var isRunning: Bool {
        self != .none && !isFinished
    }

    /// Only these three end a migration; every other status, known or not, is a stage on the way.
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
