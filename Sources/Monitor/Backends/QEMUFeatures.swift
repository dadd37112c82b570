import QMP
import QObject

/// What one QEMU has, asked at attach rather than assumed from a version: its QMP commands, the arguments its
/// `migrate` takes (QEMU 9.1 removed `blk` and `inc`), and the migration parameters and capabilities it knows
/// (for completion; listing and setting them is QEMU's own monitor's work).
struct QEMUFeatures: Sendable, Equatable {
    var commands: Set<String> = []
    var migrateArguments: Set<String> = []
    /// blockdev-mirror's arguments: `copy-mode` (write-blocking) came in QEMU 3.0.
    var mirrorArguments: Set<String> = []
    /// Sorted: QEMU's reply lists them in its hash order.
    var parameterNames: [String] = []
    /// In QEMU's order.
    var capabilityNames: [String] = []

    /// `migrate -b` and `-i` as QEMU 7.2 to 9.0 have them.
    var hasBlockMigration: Bool { migrateArguments.contains("blk") }

    /// A command the peer does not have (a QMP server smaller than QEMU's, such as hmp's own) teaches nothing;
    /// one that times out or loses the connection ends the attach.
    static func learn(
        from client: QMPClient, timeout: UInt64, stopWaiting: @escaping () -> String?
    ) throws(QMPError) -> QEMUFeatures {
        func ask(_ command: String) throws(QMPError) -> QValue? {
            do throws(QMPError) {
                return try client.call(command, timeout: timeout, stopWaiting: stopWaiting)
            } catch {
                if case .command = error { return nil }
                throw error
            }
        }
        var features = QEMUFeatures()
        features.commands = Set((try ask("query-commands")?.list ?? []).compactMap { $0.dict?["name"]?.string })
        if let schema = try ask("query-qmp-schema")?.list {
            features.migrateArguments = arguments(of: "migrate", inSchema: schema)
            features.mirrorArguments = arguments(of: "blockdev-mirror", inSchema: schema)
        } else if let version = client.greeting {
            // No schema to read: the arguments QEMU's migrate had in that version.
            features.migrateArguments = ["uri", "detach", "resume"]
            if (version.major, version.minor) < (9, 1) { features.migrateArguments.formUnion(["blk", "inc"]) }
        }
        features.parameterNames = (try ask("query-migrate-parameters")?.dict?.entries.map(\.key) ?? []).sorted()
        features.capabilityNames = (try ask("query-migrate-capabilities")?.list ?? []).compactMap {
            $0.dict?["capability"]?.string
        }
        return features
    }

    /// The member names of `command`'s argument type, from query-qmp-schema's entities.
    static func arguments(of command: String, inSchema entities: [QValue]) -> Set<String> {
        var byName: [String: QDict] = [:]
        for entity in entities {
            if let entity = entity.dict, let name = entity["name"]?.string { byName[name] = entity }
        }
        guard let argumentType = byName[command]?["arg-type"]?.string,
            let members = byName[argumentType]?["members"]?.list
        else { return [] }
        return Set(members.compactMap { $0.dict?["name"]?.string })
    }
}
