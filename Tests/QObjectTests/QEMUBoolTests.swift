import QObject
import Testing

/// qapi_bool_parse as QEMU 7.2 answered `migrate_set_parameter block-incremental VALUE` and `-drive readonly=VALUE`.
@Suite struct QEMUBoolTests {
    @Test func qemuSpellings() {
        for word in ["on", "yes", "true", "y"] { #expect(QEMUBool.parse(word) == true) }
        for word in ["off", "no", "false", "n"] { #expect(QEMUBool.parse(word) == false) }
    }

    /// `block-incremental maybe` and `block-incremental On` both gave `Parameter 'block-incremental' expects 'on'
    /// or 'off'`; `-drive ...,readonly=maybe` gave `Parameter 'read-only' expects 'on' or 'off'`.
    @Test func anythingElseIsRefused() {
        for word in ["maybe", "On", "YES", "1", "0", "", " on"] { #expect(QEMUBool.parse(word) == nil) }
    }
}
