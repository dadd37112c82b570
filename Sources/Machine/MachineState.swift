public import MigrationModel

/// What the machine lock guards: the run state and the registry of things that forbid migration.
public struct MachineState: Sendable {
    public var runState: RunState
    /// Whether the guest starts when an incoming migration completes (cleared by `stop` during `inmigrate`).
    public var autostart: Bool
    /// Reasons outgoing migration is refused, each printed as is (QEMU's migration blockers).
    public var migrationBlockers: [String] = []

    public init(runState: RunState, autostart: Bool) {
        self.runState = runState
        self.autostart = autostart
    }
}
