public import QObject

/// The capabilities in QMP's shape, both ways.
extension MigrationCapabilities {
    /// A QEMU's query-migrate-capabilities reply, `[{"capability": NAME, "state": BOOL}, ...]`, taken as it is:
    /// that QEMU checked it, and a name hmp has no row for is kept too.
    public init(queryCapabilities reply: [QValue]) {
        let on = reply.compactMap { entry -> String? in
            guard let entry = entry.dict, entry["state"]?.bool == true else { return nil }
            return entry["capability"]?.string
        }
        self.init(enabled: Set(on))
    }

    /// hmp's own query-migrate-capabilities reply: QEMU 7.2's, in its order, `{"state": BOOL, "capability": NAME}`.
    public var queryCapabilitiesReply: QValue {
        .list(Self.names.map { .dict(["state": .bool(self[$0]), "capability": .string($0)]) })
    }
}
