import QObject
import Testing

/// QemuOpts' comma rules: QEMU 7.2 opened `/tmp/a,b` for `-drive file=/tmp/a,,b,if=none`.
@Suite struct QemuOptsTests {
    @Test func doubledCommaIsALiteralComma() {
        #expect(QemuOpts.elements(of: "file=/tmp/a,,b,if=none") == ["file=/tmp/a,b", "if=none"])
        #expect(QemuOpts.elements(of: "a,,,b") == ["a,", "b"])
    }

    @Test func emptyElementsAreKeptForTheCallerToJudge() {
        #expect(QemuOpts.elements(of: "") == [""])
        #expect(QemuOpts.elements(of: "a,") == ["a", ""])
        #expect(QemuOpts.elements(of: ",a") == ["", "a"])
    }
}
