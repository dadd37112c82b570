/// QEMU's run states that this machine can be in, spelled as `query-status` and `info status` spell them.
public enum RunState: String, Sendable, CaseIterable {
    case running
    case paused
    case prelaunch
    case inmigrate
    case postmigrate
    case finishMigrate = "finish-migrate"
    case shutdown
    case internalError = "internal-error"

    public var isRunning: Bool { self == .running }
}
