import QObject

/// One `-drive` option: a raw image file the machine reads and writes.
public struct DriveConfiguration: Sendable, Equatable {
    public var path: String
    public var id: String
    public var format: String
    public var readOnly: Bool

    public init(path: String, id: String, format: String = "raw", readOnly: Bool = false) {
        self.path = path
        self.id = id
        self.format = format
        self.readOnly = readOnly
    }

    /// Parses QEMU's `-drive` text: `file=PATH[,id=ID][,format=raw][,readonly=on|off]`, where `,,` stands for a
    /// literal comma (QemuOpts' escaping). `if=` is accepted and ignored, so QEMU command lines with `if=none` work.
    /// Without `id=`, the drive is called `drive<index>`.
    public static func parse(_ text: String, index: Int) throws(MachineError) -> DriveConfiguration {
        var path: String?
        var id = "drive\(index)"
        var format = "raw"
        var readOnly = false
        for option in QemuOpts.elements(of: text) where !option.isEmpty {
            guard let equals = option.firstIndex(of: "=") else {
                throw .driveOptionWithoutValue(option: option)
            }
            let key = String(option[..<equals])
            let value = String(option[option.index(after: equals)...])
            switch key {
            case "file":
                guard !value.isEmpty else { throw .missingDriveFile(text: text) }
                path = value
            case "id":
                guard !value.isEmpty else {
                    throw .invalidDriveOptionValue(key: key, value: value, expected: "give a non-empty id")
                }
                id = value
            case "format":
                guard value == "raw" else { throw .unsupportedDriveFormat(format: value) }
                format = value
            case "readonly":
                guard let flag = QEMUBool.parse(value) else {
                    throw .invalidDriveOptionValue(key: key, value: value, expected: "use 'on' or 'off'")
                }
                readOnly = flag
            case "if":
                break
            default:
                throw .unknownDriveOption(key: key)
            }
        }
        guard let path else { throw .missingDriveFile(text: text) }
        return DriveConfiguration(path: path, id: id, format: format, readOnly: readOnly)
    }
}
