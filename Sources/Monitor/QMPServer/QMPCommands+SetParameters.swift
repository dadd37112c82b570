import MigrationModel
import QMP
import QObject

/// migrate-set-parameters as QEMU 7.2's qmp_migrate_set_parameters: the input visitor reads the members in the
/// schema's order with its texts, every member is applied to a copy, and the copy is checked as a whole before
/// it replaces the machine's, so a request changes everything it names or nothing.
extension QMPCommands {
    /// MigrateSetParameters' members in schema order (not MigrationParameter's): of two bad members the visitor
    /// names the first of these, whatever order the request sent them in.
    static let setParametersOrder = [
        "announce-initial", "announce-max", "announce-rounds", "announce-step", "compress-level",
        "compress-threads", "compress-wait-thread", "decompress-threads", "throttle-trigger-threshold",
        "cpu-throttle-initial", "cpu-throttle-increment", "cpu-throttle-tailslow", "tls-creds", "tls-hostname",
        "tls-authz", "max-bandwidth", "downtime-limit", "x-checkpoint-delay", "block-incremental",
        "multifd-channels", "xbzrle-cache-size", "max-postcopy-bandwidth", "max-cpu-throttle",
        "multifd-compression", "multifd-zlib-level", "multifd-zstd-level", "block-bitmap-mapping",
    ]

    private static let booleanParameters: Set<String> = ["compress-wait-thread", "cpu-throttle-tailslow", "block-incremental"]
    /// StrOrNull: a string, or null for the empty string.
    private static let textParameters: Set<String> = ["tls-creds", "tls-hostname", "tls-authz"]

    static func setParameters(_ call: QMPCall) throws(QMPCommandError) {
        // Each member as the text migrate_set_parameter reads, whose parser gives the visitor's range texts
        // (`expects uint8`); max-bandwidth apart, in bytes, as QMP gives it (HMP's default unit is MiB).
        var settings: [(name: String, value: String)] = []
        var bandwidth: UInt64?
        var mapping: [BitmapNodeAlias]?
        for name in setParametersOrder {
            guard let value = call.arguments[name] else { continue }
            if booleanParameters.contains(name) {
                guard let on = value.bool else { throw .generic("Invalid parameter type for '\(name)', expected: boolean") }
                settings.append((name, on ? "on" : "off"))
            } else if textParameters.contains(name) {
                guard value == .null || value.string != nil else {
                    throw .generic("Invalid parameter type for '\(name)', expected: StrOrNull")
                }
                settings.append((name, value.string ?? ""))
            } else if name == "multifd-compression" {
                guard let method = value.string else {
                    throw .generic("Invalid parameter type for '\(name)', expected: string")
                }
                settings.append((name, method))
            } else if name == "block-bitmap-mapping" {
                mapping = try bitmapMapping(value)
            } else if name == "max-bandwidth" {
                bandwidth = try uint64(name, value)
            } else {
                settings.append((name, String(try uint64(name, value))))
            }
        }
        for key in call.arguments.keys where !setParametersOrder.contains(key) {
            throw .generic("Parameter '\(key)' is unexpected")
        }
        var next = call.backend.migrationParameters
        do throws(MigrationSettingError) {
            try next.set(settings)
        } catch {
            throw .generic(error.message)
        }
        // QEMU 7.2 keeps any uint64 here, 2^64-1 too (and so reports it back); the engine computes in doubles.
        if let bandwidth { next.maxBandwidth = bandwidth }
        if let mapping { next.blockBitmapMapping = mapping }
        do throws(BackendError) {
            try call.backend.setMigrationParameters(next)
        } catch {
            throw backendError(error)
        }
    }

    /// The uint64 visitor: a negative integer is taken as its two's complement, for backward compatibility.
    private static func uint64(_ name: String, _ value: QValue) throws(QMPCommandError) -> UInt64 {
        switch value {
        case .uint(let n): return n
        case .int(let n): return UInt64(bitPattern: n)
        default: throw .generic("Parameter '\(name)' expects uint64")
        }
    }

    /// block-bitmap-mapping as the visitor and check_dirty_bitmap_mig_alias_map read it. The built-in machine
    /// has no dirty bitmaps to migrate: a well-formed mapping is kept and listed, and maps nothing.
    private static func bitmapMapping(_ value: QValue) throws(QMPCommandError) -> [BitmapNodeAlias] {
        let name = "block-bitmap-mapping"
        guard let nodes = value.list else { throw .generic("Invalid parameter type for '\(name)', expected: array") }
        var nodeNames: Set<String> = []
        for (index, node) in nodes.enumerated() {
            let path = "\(name)[\(index)]"
            let members = try structure(node, path, [("node-name", .string), ("alias", .string), ("bitmaps", .array)])
            let nodeName = members["node-name"]?.string ?? ""
            let alias = members["alias"]?.string ?? ""
            if !isWellFormedID(alias) {
                throw invalidMapping("The node alias '\(alias)' is not well-formed")
            }
            if alias.utf8.count > 255 {
                throw invalidMapping("The node alias '\(alias)' is longer than 255 bytes")
            }
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

    private static func invalidMapping(_ text: String) -> QMPCommandError {
        .generic("Invalid mapping given for block-bitmap-mapping: \(text)")
    }

    /// One object of the mapping, its members checked in schema order; all required but `transform` (and all
    /// when `optional`), nothing else allowed.
    private static func structure(
        _ value: QValue, _ path: String, _ fields: [(String, QMPParameter.Kind)], optional: Bool = false
    ) throws(QMPCommandError) -> QDict {
        guard let object = value.dict else { throw .generic("Invalid parameter type for '\(path)', expected: object") }
        let parameters = fields.map { QMPParameter("\(path).\($0.0)", $0.1, optional: optional || $0.0 == "transform") }
        var named = QDict()
        for (key, member) in object { named["\(path).\(key)"] = member }
        try check(named, against: parameters)
        return object
    }
}
