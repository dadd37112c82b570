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

    /// `info status`'s line: `VM status: running`, `VM status: paused`, or the state in brackets for other
    /// stopped states, as in `VM status: paused (prelaunch)`.
    public var statusText: String {
        switch self {
        case .running: return "VM status: running"
        case .paused: return "VM status: paused"
        default: return "VM status: paused (\(rawValue))"
        }
    }
}
