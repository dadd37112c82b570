/// A refused `migrate_set_parameter` / `migrate_set_capability` value, worded as QEMU 7.2 words it. `message` has no
/// `Error: ` prefix (the monitor adds it); `hint` is QEMU's extra explanation printed on the lines after it.
public struct MigrationSettingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    /// The message and the hint, one line each, as the monitor prints them.
    public var description: String {
        if let hint { return message + "\n" + hint }
        return message
    }

    public static func invalidValue(_ name: String) -> MigrationSettingError {
        MigrationSettingError("invalid parameter value: \(name)")
    }

    /// QERR_INVALID_PARAMETER_VALUE: `Parameter 'x' expects …`.
    static func expects(_ name: String, _ what: String) -> MigrationSettingError {
        MigrationSettingError("Parameter '\(name)' expects \(what)")
    }

    static let sizeHint = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively."
}
