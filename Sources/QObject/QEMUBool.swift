/// QEMU 7.2's `qapi_bool_parse` (qapi/qapi-util.c), the one boolean reader of hmp: option values (`-drive
/// readonly=`) and migration parameters read on/off through it. Case-sensitive, as QEMU's: `On` is refused.
public enum QEMUBool {
    /// The value, or nil where QEMU says `Parameter 'NAME' expects 'on' or 'off'`.
    public static func parse(_ text: String) -> Bool? {
        switch text {
        case "on", "yes", "true", "y": true
        case "off", "no", "false", "n": false
        default: nil
        }
    }
}
