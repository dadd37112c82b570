/// The `globalstate` device (FULL, version 1): be32 size (strlen+1, ignored on load) and the run state name in 100
/// NUL-padded bytes. The destination uses it to decide its run state once the migration is in.
public final class GlobalStateHandler: SaveVMHandler {
    public let idstr = "globalstate"
    public let versionID: UInt32 = 1
    static let nameBytes = 100
    /// QEMU's RunState names: anything else is refused on load.
    static let knownRunStates: Set<String> = [
        "debug", "inmigrate", "internal-error", "io-error", "paused", "postmigrate", "prelaunch", "finish-migrate",
        "restore-vm", "running", "save-vm", "shutdown", "suspended", "watchdog", "guest-panicked", "colo",
    ]

    /// Outgoing: the name to send. Incoming: the name received.
    public var runState: String?

    public init(runState: String? = nil) {
        self.runState = runState
    }

    public func complete(_ f: QEMUFileWriter) throws(MigrationError) {
        var name = Array((runState ?? "running").utf8.prefix(GlobalStateHandler.nameBytes - 1))
        try f.put32(UInt32(name.count + 1))
        name += Array(repeating: 0, count: GlobalStateHandler.nameBytes - name.count)
        try f.putBytes(name)
    }

    public func load(_ r: QEMUFileReader, version: UInt32, progress: (String) -> Void) throws(MigrationError) {
        try checkVMStateVersion(name: idstr, version: version, minimum: 1, current: versionID)
        _ = try r.get32()
        let name = cString(try r.getBytes(GlobalStateHandler.nameBytes))
        guard GlobalStateHandler.knownRunStates.contains(name) else {
            throw MigrationError("invalid parameter value: \(name)")
        }
        runState = name
    }
}
