public import QObject

/// The parameters in QMP's shape, both ways, from the rows of MigrationParameter.table.
extension MigrationParameters {
    /// A QEMU's query-migrate-parameters reply, each member read as migrate-set-parameters reads it: one that QEMU
    /// leaves out or that does not fit its row keeps its default, one hmp has no row for is not kept (QEMU's own
    /// monitor lists and sets those).
    public init(queryParameters reply: QDict) {
        self.init()
        for row in MigrationParameter.table {
            guard let value = reply[row.name] else { continue }
            try? row.set(value, into: &self) { value throws(MigrationSettingError) in
                guard let list = value.list else { throw .invalidValue(row.name) }
                return list.compactMap(BitmapNodeAlias.init(qmp:))
            }
        }
    }

    /// hmp's own query-migrate-parameters reply, as QEMU 7.2 sends it: its members, built in the schema's order,
    /// come out in its QDict's order; block-bitmap-mapping only once set.
    public var queryParametersReply: QDict {
        var reply = QDict()
        for row in MigrationParameter.table where row.releases.inQEMU72 { reply[row.name] = row.qmpValue(self) }
        return reply.inQEMUOrder
    }

    /// qmp_migrate_set_parameters: the input visitor reads the request's members in the schema's order (each
    /// member's type and range with its texts), refuses any other member, and the result is checked as a whole,
    /// as QEMU checks the result rather than each step (max-cpu-throttle 10 with cpu-throttle-initial 5 passes
    /// from the defaults). `mapping` checks block-bitmap-mapping's structure, which QMP's visitor knows. On error
    /// nothing changes.
    public mutating func set(
        qmp arguments: QDict, mapping: (QValue) throws(MigrationSettingError) -> [BitmapNodeAlias]
    ) throws(MigrationSettingError) {
        var next = self
        for row in MigrationParameter.table where row.releases.inQEMU72 {
            if let value = arguments[row.name] { try row.set(value, into: &next, mapping: mapping) }
        }
        for key in arguments.keys where MigrationParameter.named(key)?.releases.inQEMU72 != true {
            throw MigrationSettingError("Parameter '\(key)' is unexpected")
        }
        try next.check()
        self = next
    }
}
