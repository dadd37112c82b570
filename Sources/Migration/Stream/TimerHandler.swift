/// The `timer` device (FULL, version 2): cpu_ticks_offset, 8 unused bytes, cpu_clock_offset. This machine has no
/// guest clock to carry, so it sends zeros (as a `-S` QEMU does) and ignores what it receives.
public final class TimerHandler: SaveVMHandler {
    public let idstr = "timer"
    public let versionID: UInt32 = 2
    static let minimumVersion: UInt32 = 1

    public init() {}

    public func complete(_ f: QEMUFileWriter) throws(MigrationError) {
        try f.putRepeated(0, count: 24)
    }

    /// Version 1 has no cpu_clock_offset (VMSTATE_INT64_V(…, 2)).
    public func load(_ r: QEMUFileReader, version: UInt32, progress: (String) -> Void) throws(MigrationError) {
        try checkVMStateVersion(name: idstr, version: version, minimum: TimerHandler.minimumVersion, current: versionID)
        try r.skip(version >= 2 ? 24 : 16)
    }
}

/// vmstate_load_state's version checks (a vmsd device; `ram` and `block` have their own).
func checkVMStateVersion(name: String, version: UInt32, minimum: UInt32, current: UInt32) throws(MigrationError) {
    if version > current {
        throw MigrationError("\(name): incoming version_id \(Int32(bitPattern: version)) is too new for local version_id \(current)")
    }
    if version < minimum {
        throw MigrationError(
            "\(name): incoming version_id \(Int32(bitPattern: version)) is too old for local minimum version_id  \(minimum)")
    }
}
