import Foundation
import Testing
import TestSupport

/// Sizes as QEMU 7.2 reads them (qemu_strtosz): the same `migrate_set_parameter` line goes to a real QEMU 7.2
/// (`-M none`, its own monitor) and to hmp, and what each prints (a warning, an error, or nothing) and the value
/// `info migrate_parameters` then shows must be the same text.
@Suite(.serialized) struct SizeAsQEMUTests {
    let scratch = TempDir()

    static let inputs: [ArgumentText] = [
        "0x1k", "0.0005k", "1.5", "0x10", "1.k", "1.", "1.e", ".5", "0x", "0x.", "0x1.5", "1e3", "1.5e3", "+1", "-1",
        "1kk", "0X1M", "0x1b", "1.5b", "0.5b", "8E", "7.9999999E", "1.0b", "00x1", "0.00000001k", "0.0001",
        "1.99999999999999999999k", "1.\(String(repeating: "0", count: 400))1k", "9999999999999999999999k",
        "18446744073709551616", "1.9e999", "0x1g", "0xg", "1.5.5", "1x", "0x0x1", "16E", "8191P", "4096", "4k",
        "1.5k", "1G", "0xffffffffffffffff", "0x10000000000000000", "abc", "-0", "++1", "15E", "\"1k\"",
    ]

    /// What `migrate_set_parameter NAME VALUE` printed and the line `info migrate_parameters` shows for NAME, from
    /// QEMU 7.2's monitor.
    static func qemu(_ qemu: QEMUProcess, _ name: String, _ value: String) -> String {
        _ = qemu.monitor("migrate_set_parameter \(name) 0")
        let said = qemu.monitor("migrate_set_parameter \(name) \(value)") ?? ["(no answer)"]
        let shown = (qemu.monitor("info migrate_parameters") ?? []).filter { $0.hasPrefix("\(name):") }
        return (said + shown).joined(separator: "\n")
    }

    static func hmp(_ hmp: HMPProcess, _ name: String, _ value: String) -> String {
        let answers = hmp.run(
            ["migrate_set_parameter \(name) 0", "migrate_set_parameter \(name) \(value)", "info migrate_parameters"])
        let said = answers.count > 1 ? QEMUProcess.lines(answers[1]) : ["(no answer)"]
        let shown = answers.count > 2 ? QEMUProcess.lines(answers[2]).filter { $0.hasPrefix("\(name):") } : []
        return (said + shown).joined(separator: "\n")
    }

    /// max-bandwidth (MiB by default, `Invalid size` on error) and max-postcopy-bandwidth (bytes by default, the
    /// string visitor's errors with QEMU's hint).
    @Test(arguments: ["max-bandwidth", "max-postcopy-bandwidth"])
    func sameTextAsQEMU72(_ name: String) throws {
        let reference = try QEMUProcess(scratch: scratch, name: "ref", paused: false, machine: "none")
        defer { reference.kill() }
        let ours = try HMPProcess(["-m", "16"])
        defer { ours.close() }
        // The reference answers at all: its warning for a hex size with a suffix is what the table is about.
        #expect(Self.qemu(reference, name, "0x1k").hasPrefix("warning: Using a multiplier suffix"))
        for input in Self.inputs {
            let expected = Self.qemu(reference, name, input.value)
            #expect(Self.hmp(ours, name, input.value) == expected, "\(name) \(input.testDescription)")
        }
    }

    /// `migrate_set_speed` (hmp keeps QEMU's old command, removed in 7.2) reads its value as QEMU's `o` arguments
    /// do: MiB by default, so that `0.0005k` is 1 byte per second, never 0 (no limit).
    @Test func migrateSetSpeedTakesTheSameSizes() throws {
        let ours = try HMPProcess(["-m", "16"])
        defer { ours.close() }
        let cases: [(String, String)] = [
            ("0.0005k", "1"), ("1.5", "1572864"), ("0x10", "16777216"), ("1.k", "1024"), ("0", "0"),
        ]
        for (input, bytes) in cases {
            #expect(ours.run("migrate_set_speed \(input)") == "")
            #expect(ours.run("info migrate_parameters").contains("max-bandwidth: \(bytes) bytes/second\n"), "\(input)")
        }
        #expect(ours.run("migrate_set_speed 0x1k")
            == "warning: Using a multiplier suffix on hex numbers is deprecated: 0x1k\n")
        #expect(ours.run("info migrate_parameters").contains("max-bandwidth: 1024 bytes/second\n"))
        for input in ["8E", "abc", ".5", "-1"] {
            #expect(ours.run("migrate_set_speed \(input)")
                == "invalid size\nTry \"help migrate_set_speed\" for more information\n")
        }
    }
}
