public import QObject

/// One migration parameter, a row of `MigrationParameter.table`: its name, the QEMU releases that have it, its
/// type (and where `MigrationParameters` keeps it), its default as query-migrate-parameters gives it, its line in
/// `info migrate_parameters` and the range migrate_params_check allows it. What each type means for HMP, QMP and
/// the listing is written once, here; the rest (names, completion, `set`, query-migrate-parameters both ways,
/// migrate-set-parameters, the check) comes from the rows.
public struct MigrationParameter: Sendable {
    public typealias Field<Value> = any WritableKeyPath<MigrationParameters, Value> & Sendable

    public enum Kind: Sendable {
        /// QAPI `size` or `uint64`: HMP reads it as qemu_strtosz does, bytes unless a suffix says otherwise.
        case size(Field<UInt64>)
        /// max-bandwidth: HMP reads it in MiB unless a suffix says otherwise, like the old migrate_set_speed.
        case bandwidth(Field<UInt64>)
        case uint8(Field<UInt8>)
        case uint32(Field<UInt32>)
        case bool(Field<Bool>)
        /// StrOrNull in migrate-set-parameters (null is the empty string), `str` in the reply.
        case text(Field<String>)
        case compression
        /// Absent until QMP sets it (an empty list is set too), as QEMU's has_block_bitmap_mapping; HMP refuses it.
        case bitmapMapping
        /// A uint8 QEMU 7.2's HMP parses but never marks as set, so it changes nothing (the multifd levels).
        case unkept
    }

    /// What migrate_params_check allows a number member, and QEMU's words for the rest (`Parameter 'x_y' expects
    /// …`). `order` is the member's place in that function: of two failures the first there is the one reported.
    struct ValueRange: Sendable {
        let order: Int
        let expects: String
        /// The member's value and the whole set, for the one rule that crosses members.
        let allows: @Sendable (UInt64, MigrationParameters) -> Bool

        static func within(_ order: Int, _ bounds: ClosedRange<UInt64>, _ expects: String) -> ValueRange {
            ValueRange(order: order, expects: expects) { n, _ in bounds.contains(n) }
        }
    }

    public let name: String
    public let kind: Kind
    /// nil for block-bitmap-mapping, absent until set.
    public let defaultValue: QValue?
    public let releases: QEMUReleases
    /// Its place in `info migrate_parameters`, whose order is hmp_info_migrate_parameters' own; nil for what
    /// QEMU 7.2's HMP prints no line for.
    let infoLine: Int?
    /// What follows the value there (` ms`).
    let unit: String
    let range: ValueRange?

    init(
        _ name: String, _ kind: Kind, _ defaultValue: QValue?, removedIn: Int? = nil, infoLine: Int?, unit: String = "",
        range: ValueRange? = nil
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.releases = QEMUReleases(removedIn: removedIn)
        self.infoLine = infoLine
        self.unit = unit
        self.range = range
    }

    public static func named(_ name: String) -> MigrationParameter? {
        table.first { $0.name == name }
    }

    /// The rows `info migrate_parameters` prints a line for, in its order.
    public static let infoRows = table.filter { $0.infoLine != nil }.sorted { ($0.infoLine ?? 0) < ($1.infoLine ?? 0) }

    /// The rows migrate_params_check checks, in its order.
    static let rangedRows = table.filter { $0.range != nil }.sorted { ($0.range?.order ?? 0) < ($1.range?.order ?? 0) }

    /// `migrate_set_parameter NAME VALUE` for this row, as QEMU 7.2's string input visitor reads VALUE.
    func parse(_ value: String, into p: inout MigrationParameters) throws(MigrationSettingError) {
        switch kind {
        case .size(let field): p[keyPath: field] = try MigrationParameters.size(name, value)
        case .bandwidth(let field):
            guard let bytes = try? parseSize(value, defaultUnit: 1 << 20), bytes <= UInt64(Int64.max) else {
                throw MigrationSettingError("Invalid size \(value)")
            }
            p[keyPath: field] = bytes
        case .uint8(let field): p[keyPath: field] = try narrow(MigrationParameters.uint64(name, value), "uint8_t")
        case .uint32(let field): p[keyPath: field] = try narrow(MigrationParameters.uint64(name, value), "uint32_t")
        case .bool(let field): p[keyPath: field] = try MigrationParameters.bool(name, value)
        case .text(let field): p[keyPath: field] = value
        case .compression:
            guard let method = MigrationParameters.MultiFDCompression(rawValue: value) else {
                throw MigrationSettingError("Parameter '\(name)' does not accept value '\(value)'")
            }
            p.multifdCompression = method
        case .bitmapMapping: throw MigrationSettingError("The \(name) parameter can only be set through QMP")
        case .unkept: _ = try narrow(MigrationParameters.uint64(name, value), "uint8_t") as UInt8
        }
    }

    /// One member of a migrate-set-parameters request, as QEMU 7.2's QObject input visitor reads it: its type,
    /// then its range, with the visitor's texts. The mapping's structure is checked by `mapping`.
    func set(
        _ value: QValue, into p: inout MigrationParameters,
        mapping: (QValue) throws(MigrationSettingError) -> [BitmapNodeAlias]
    ) throws(MigrationSettingError) {
        /// The uint64 visitor: a negative integer is taken as its two's complement, for backward compatibility.
        func uint64() throws(MigrationSettingError) -> UInt64 {
            switch value {
            case .uint(let n): return n
            case .int(let n): return UInt64(bitPattern: n)
            default: throw .expects(name, "uint64")
            }
        }
        func invalidType(_ expected: String) -> MigrationSettingError {
            MigrationSettingError("Invalid parameter type for '\(name)', expected: \(expected)")
        }
        switch kind {
        // QEMU keeps any uint64 here, 2^64-1 too (and so reports it back); the engine computes in doubles.
        case .size(let field), .bandwidth(let field): p[keyPath: field] = try uint64()
        case .uint8(let field): p[keyPath: field] = try narrow(uint64(), "uint8_t")
        case .uint32(let field): p[keyPath: field] = try narrow(uint64(), "uint32_t")
        case .bool(let field):
            guard let on = value.bool else { throw invalidType("boolean") }
            p[keyPath: field] = on
        case .text(let field):
            guard value == .null || value.string != nil else { throw invalidType("StrOrNull") }
            p[keyPath: field] = value.string ?? ""
        case .compression:
            guard let text = value.string else { throw invalidType("string") }
            try parse(text, into: &p)
        case .bitmapMapping: p.blockBitmapMapping = try mapping(value)
        case .unkept: _ = try narrow(uint64(), "uint8_t") as UInt8
        }
    }

    /// Both visitors' uintN: a uint64 (already read), then its range.
    private func narrow<T: FixedWidthInteger>(_ n: UInt64, _ type: String) throws(MigrationSettingError) -> T {
        guard let value = T(exactly: n) else { throw .expects(name, type) }
        return value
    }

    /// The value as query-migrate-parameters gives it and migrate-set-parameters takes it; nil for a mapping
    /// never set. What hmp does not keep is always its default.
    public func qmpValue(_ p: MigrationParameters) -> QValue? {
        switch kind {
        case .size(let field), .bandwidth(let field): .uint(p[keyPath: field])
        case .uint8(let field): .int(Int64(p[keyPath: field]))
        case .uint32(let field): .int(Int64(p[keyPath: field]))
        case .bool(let field): .bool(p[keyPath: field])
        case .text(let field): .string(p[keyPath: field])
        case .compression: .string(p.multifdCompression.rawValue)
        case .bitmapMapping: p.blockBitmapMapping.map { .list($0.map(\.qmpValue)) }
        case .unkept: defaultValue
        }
    }

    /// migrate_params_check's test of this row, which names the member with underscores.
    func check(_ p: MigrationParameters) throws(MigrationSettingError) {
        guard let range, let n = qmpValue(p)?.uint, !range.allows(n, p) else { return }
        throw .expects(name.replacing("-", with: "_"), range.expects)
    }

    /// Its line in `info migrate_parameters` as QEMU 7.2 prints it, before the terminal makes it printable.
    public func infoText(_ p: MigrationParameters) -> String? {
        guard infoLine != nil, let value = qmpValue(p) else { return nil }
        switch (kind, value) {
        case (.text, .string(let text)): return "\(name): '\(text)'\(unit)"
        case (_, .string(let text)): return "\(name): \(text)\(unit)"
        case (_, .bool(let on)): return "\(name): \(on ? "on" : "off")\(unit)"
        default: return "\(name): \(value.json)\(unit)"
        }
    }

    /// What completion offers after the name: on/off for booleans, the compression methods, nothing for
    /// free-form values.
    var completionValues: [String] {
        switch kind {
        case .bool: ["on", "off"]
        case .compression: MigrationParameters.MultiFDCompression.allCases.map(\.rawValue)
        default: []
        }
    }

    /// The unit of a size without a suffix, for the members HMP reads as sizes.
    var sizeUnit: UInt64? {
        switch kind {
        case .size: 1
        case .bandwidth: 1 << 20
        default: nil
        }
    }
}
