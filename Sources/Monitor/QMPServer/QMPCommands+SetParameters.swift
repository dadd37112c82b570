import MigrationModel
import QMP
import QObject

/// migrate-set-parameters as QEMU 7.2's qmp_migrate_set_parameters, read through the parameters' rows
/// (MigrationParameters.set(qmp:)): a request changes everything it names or nothing.
extension QMPCommands {
    static func setParameters(_ call: QMPCall) throws(QMPCommandError) -> QValue {
        var next = call.backend.migrationParameters
        do throws(MigrationSettingError) {
            try next.set(qmp: call.arguments, mapping: bitmapMapping)
        } catch {
            throw .generic(error.message)
        }
        return try call.run(call.backend.setMigrationParameters(next))
    }

    /// block-bitmap-mapping as the visitor and check_dirty_bitmap_mig_alias_map read it. The built-in machine
    /// has no dirty bitmaps to migrate: a well-formed mapping is kept and listed, and maps nothing.
    private static func bitmapMapping(_ value: QValue) throws(MigrationSettingError) -> [BitmapNodeAlias] {
        let name = "block-bitmap-mapping"
        guard let nodes = value.list else {
            throw MigrationSettingError("Invalid parameter type for '\(name)', expected: array")
        }
        var nodeNames: Set<String> = []
        for (index, node) in nodes.enumerated() {
            let path = "\(name)[\(index)]"
            let members = try structure(node, path, [("node-name", .string), ("alias", .string), ("bitmaps", .array)])
            let nodeName = members["node-name"]?.string ?? ""
            let alias = members["alias"]?.string ?? ""
            if !isWellFormedID(alias) { throw invalidMapping("The node alias '\(alias)' is not well-formed") }
            if alias.utf8.count > 255 { throw invalidMapping("The node alias '\(alias)' is longer than 255 bytes") }
            if nodeName.utf8.count > 255 {
                throw invalidMapping("The node name '\(nodeName)' is longer than 255 bytes")
            }
            guard nodeNames.insert(nodeName).inserted else {
                throw invalidMapping("The node name '\(nodeName)' is mapped twice")
            }
            var bitmapNames: Set<String> = []
            for (bitmapIndex, bitmap) in (members["bitmaps"]?.list ?? []).enumerated() {
                let bitmapPath = "\(path).bitmaps[\(bitmapIndex)]"
                let fields = try structure(
                    bitmap, bitmapPath, [("name", .string), ("alias", .string), ("transform", .object)])
                if let transform = fields["transform"] {
                    _ = try structure(transform, "\(bitmapPath).transform", [("persistent", .boolean)], optional: true)
                }
                let bitmapName = fields["name"]?.string ?? ""
                let bitmapAlias = fields["alias"]?.string ?? ""
                if bitmapAlias.utf8.count > 255 {
                    throw invalidMapping("The bitmap alias '\(bitmapAlias)' is longer than 255 bytes")
                }
                if bitmapName.utf8.count > 1023 {
                    throw invalidMapping("The bitmap name '\(bitmapName)' is longer than 1023 bytes")
                }
                guard bitmapNames.insert(bitmapName).inserted else {
                    throw invalidMapping("The bitmap '\(nodeName)'/'\(bitmapName)' is mapped twice")
                }
            }
        }
        return nodes.compactMap(BitmapNodeAlias.init(qmp:))
    }

    /// QEMU's id_wellformed: a letter, then letters, digits, `-`, `.` or `_`.
    private static func isWellFormedID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        let isLetter = { (b: UInt8) in (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
        guard let first = bytes.first, isLetter(first) else { return false }
        return bytes.dropFirst().allSatisfy {
            isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "-._".utf8.contains($0)
        }
    }

    private static func invalidMapping(_ text: String) -> MigrationSettingError {
        MigrationSettingError("Invalid mapping given for block-bitmap-mapping: \(text)")
    }

    /// One object of the mapping, its members checked in schema order; all required but `transform` (and all
    /// when `optional`), nothing else allowed.
    private static func structure(
        _ value: QValue, _ path: String, _ fields: [(String, QMPParameter.Kind)], optional: Bool = false
    ) throws(MigrationSettingError) -> QDict {
        guard let object = value.dict else {
            throw MigrationSettingError("Invalid parameter type for '\(path)', expected: object")
        }
        let parameters = fields.map { QMPParameter("\(path).\($0.0)", $0.1, optional: optional || $0.0 == "transform") }
        var named = QDict()
        for (key, member) in object { named["\(path).\(key)"] = member }
        do throws(QMPCommandError) {
            try check(named, against: parameters)
        } catch {
            throw MigrationSettingError(error.description)
        }
        return object
    }
}
