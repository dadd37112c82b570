import QObject

extension MigrationParameters {
    /// `migrate_set_parameter NAME VALUE`, parsed as QEMU 7.2's hmp_migrate_set_parameter does (through its string
    /// input visitor), then checked as a whole as migrate_params_check does. On error nothing changes.
    public mutating func set(name: String, value: String) throws(MigrationSettingError) {
        guard let row = MigrationParameter.named(name) else { throw .invalidValue(name) }
        var next = self
        try row.parse(value, into: &next)
        try next.check()
        self = next
    }

    /// What QEMU 7.2 warns while reading `value` for `name` (`warning: Using a multiplier suffix on hex numbers is
    /// deprecated: 0x1k`), or nil.
    public static func warning(name: String, value: String) -> String? {
        guard let unit = MigrationParameter.named(name)?.sizeUnit,
            let size = try? QEMUSize.parse(value, defaultUnit: unit), size.hexWithSuffix
        else { return nil }
        return QEMUSize.hexSuffixWarning(value)
    }

    /// The old `migrate_set_speed`: max-bandwidth in bytes per second.
    public mutating func setSpeed(bytes: UInt64) {
        maxBandwidth = min(bytes, UInt64(Int64.max))
    }

    /// The old `migrate_set_downtime`: downtime-limit from seconds, 0 to 2000 as QEMU's qmp_migrate_set_downtime.
    public mutating func setDowntime(seconds: Double) throws(MigrationSettingError) {
        guard seconds >= 0, seconds <= 2000 else {
            throw .expects("downtime_limit", "an integer in the range of 0 to 2000 seconds")
        }
        downtimeLimit = UInt64(seconds * 1000)
    }

    /// migrate_params_check: the whole set must make sense, so one change can fail on another's account
    /// (max-cpu-throttle must stay at or above cpu-throttle-initial). The ranges are the table's.
    func check() throws(MigrationSettingError) {
        for row in MigrationParameter.rangedRows { try row.check(self) }
    }

    /// The string visitor's size: bytes by default, suffixes allowed.
    static func size(_ name: String, _ value: String) throws(MigrationSettingError) -> UInt64 {
        do {
            return try parseSize(value, defaultUnit: 1)
        } catch .outOfRange {
            throw MigrationSettingError("Value '\(value)' is out of range for parameter '\(name)'")
        } catch {
            throw MigrationSettingError(
                "Parameter '\(name)' expects a non-negative number below 2^64", hint: MigrationSettingError.sizeHint)
        }
    }

    /// The string visitor's integer: strtoull with base 0 (decimal, 0x hex, 0 octal), where a leading minus wraps
    /// around as in C, so `-1` fails the range check rather than the parse.
    static func uint64(_ name: String, _ value: String) throws(MigrationSettingError) -> UInt64 {
        let bytes = Array(value.utf8)
        let number = CNumbers.strtoull(bytes, from: 0, base: 0)
        guard number.end > 0, number.end == bytes.count, !number.overflow else { throw .expects(name, "uint64") }
        return number.value
    }

    /// qapi_bool_parse: case-sensitive on/yes/true/y and off/no/false/n.
    static func bool(_ name: String, _ value: String) throws(MigrationSettingError) -> Bool {
        guard let flag = QEMUBool.parse(value) else { throw .expects(name, "'on' or 'off'") }
        return flag
    }
}
