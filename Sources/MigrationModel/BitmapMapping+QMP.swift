public import QObject

/// block-bitmap-mapping in QMP's shape, both ways (a reply puts the members in QEMU's order: QDict.inQEMUOrder),
/// and read back from a reply or a checked request.
extension BitmapNodeAlias {
    public var qmpValue: QValue {
        ["node-name": .string(nodeName), "alias": .string(alias), "bitmaps": .list(bitmaps.map(\.qmpValue))]
    }

    /// nil for what is not a node alias; members already checked (QMPCommands) or from QEMU itself.
    public init?(qmp value: QValue) {
        guard let object = value.dict, let nodeName = object.string("node-name"), let alias = object.string("alias"),
            let bitmaps = object["bitmaps"]?.list
        else { return nil }
        self.init(nodeName: nodeName, alias: alias, bitmaps: bitmaps.compactMap(BitmapAlias.init(qmp:)))
    }
}

extension BitmapAlias {
    public var qmpValue: QValue {
        var object: QDict = ["name": .string(name), "alias": .string(alias)]
        if let transform { object["transform"] = .dict(transform.persistent.map { ["persistent": .bool($0)] } ?? [:]) }
        return .dict(object)
    }

    public init?(qmp value: QValue) {
        guard let object = value.dict, let name = object.string("name"), let alias = object.string("alias") else {
            return nil
        }
        let transform = object["transform"]?.dict.map { Transform(persistent: $0.bool("persistent")) }
        self.init(name: name, alias: alias, transform: transform)
    }
}
