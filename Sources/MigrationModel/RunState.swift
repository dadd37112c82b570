/// QEMU 7.2's run states, spelled as `query-status` and `info status` spell them. The built-in machine is only
/// ever in the first few; a QEMU behind --connect may report any.
public enum RunState: String, Sendable, CaseIterable {
    case running
    case paused
    case prelaunch
    case inmigrate
    case postmigrate
    case finishMigrate = "finish-migrate"
    case shutdown
    case internalError = "internal-error"
    case debug
    case ioError = "io-error"
    case restoreVM = "restore-vm"
    case saveVM = "save-vm"
    case suspended
    case watchdog
    case guestPanicked = "guest-panicked"
    case colo

    public var isRunning: Bool { self == .running }
}
