/// QEMU 7.2's migration capabilities: all off until `migrate_set_capability` turns them on.
public struct MigrationCapabilities: Sendable, Equatable {
    /// QEMU 7.2's, in its order, which `info migrate_capabilities` and completion follow.
    public static let names = MigrationCapability.table.filter(\.releases.inQEMU72).map(\.name)

    /// What hmp's engine really honours (MigrationCapability.honoured).
    public static let implemented = Set(MigrationCapability.table.filter(\.honoured).map(\.name))

    /// Capabilities background-snapshot cannot be combined with, in the order QEMU checks them.
    static let backgroundSnapshotConflicts = [
        "postcopy-ram", "dirty-bitmaps", "postcopy-blocktime", "late-block-activate", "return-path", "multifd",
        "pause-before-switchover", "auto-converge", "release-ram", "rdma-pin-all", "compress", "xbzrle", "x-colo",
        "validate-uuid", "zero-copy-send",
    ]

    private var enabled: Set<String> = []

    public init() {}

    /// A set as another QEMU reports it (query-migrate-capabilities), taken as it is: that QEMU checked it.
    public init(enabled names: Set<String>) {
        enabled = names
    }

    public subscript(name: String) -> Bool { enabled.contains(name) }

    /// Sets one capability, then checks the resulting set as QEMU's migrate_caps_check does; on error nothing
    /// changes. `parameters` supplies what the zero-copy check looks at (multifd compression, TLS).
    public mutating func set(
        name: String, on: Bool, parameters: MigrationParameters = MigrationParameters()
    ) throws(MigrationSettingError) {
        guard MigrationCapabilities.names.contains(name) else { throw .invalidValue(name) }
        var next = self
        if on { next.enabled.insert(name) } else { next.enabled.remove(name) }
        try next.check(parameters: parameters)
        self = next
    }

    private func check(parameters: MigrationParameters) throws(MigrationSettingError) {
        if self["postcopy-ram"], self["x-ignore-shared"] {
            throw MigrationSettingError("Postcopy is not compatible with ignore-shared")
        }
        if self["background-snapshot"] {
            for other in MigrationCapabilities.backgroundSnapshotConflicts where self[other] {
                throw MigrationSettingError("Background-snapshot is not compatible with \(other)")
            }
        }
        if self["zero-copy-send"],
            !self["multifd"] || self["compress"] || parameters.multifdCompression != .none || !parameters.tlsCreds.isEmpty
        {
            throw MigrationSettingError("Zero copy only available for non-compressed non-TLS multifd migration")
        }
        if self["postcopy-preempt"], !self["postcopy-ram"] {
            throw MigrationSettingError("Postcopy preempt requires postcopy-ram")
        }
    }
}
