/// One migration capability, a row of `MigrationCapability.table`. Every capability is off until set, in every
/// QEMU release, so a row needs no default.
public struct MigrationCapability: Sendable {
    public let name: String
    public let releases: QEMUReleases
    /// hmp's engine really does what it says (`block` as `migrate -b`; `events`, the MIGRATION and MIGRATION_PASS
    /// events of hmp's QMP server; `auto-converge`, the built-in guest's workload throttled as QEMU throttles
    /// vCPUs). Any other may be listed and turned off, not turned on.
    public let honoured: Bool

    init(_ name: String, since: Int = 702, removedIn: Int? = nil, honoured: Bool = false) {
        self.name = name
        self.releases = QEMUReleases(since: since, removedIn: removedIn)
        self.honoured = honoured
    }

    /// THE capabilities, in QEMU's MigrationCapability order, which `info migrate_capabilities` and
    /// query-migrate-capabilities follow. Checked against QEMU 7.2 and 10.0.2.
    public static let table: [MigrationCapability] = [
        MigrationCapability("xbzrle"), MigrationCapability("rdma-pin-all"),
        MigrationCapability("auto-converge", honoured: true), MigrationCapability("zero-blocks"),
        MigrationCapability("compress", removedIn: 901), MigrationCapability("events", honoured: true),
        MigrationCapability("postcopy-ram"), MigrationCapability("x-colo"), MigrationCapability("release-ram"),
        MigrationCapability("block", removedIn: 901, honoured: true), MigrationCapability("return-path"),
        MigrationCapability("pause-before-switchover"), MigrationCapability("multifd"),
        MigrationCapability("dirty-bitmaps"), MigrationCapability("postcopy-blocktime"),
        MigrationCapability("late-block-activate"), MigrationCapability("x-ignore-shared"),
        MigrationCapability("validate-uuid"), MigrationCapability("background-snapshot"),
        MigrationCapability("zero-copy-send"), MigrationCapability("postcopy-preempt"),
        MigrationCapability("switchover-ack", since: 801), MigrationCapability("dirty-limit", since: 801),
        MigrationCapability("mapped-ram", since: 900),
    ]
}
