import Machine
import Migration
import MigrationModel
import Testing
import TestSupport

/// Sizes at their edges where the machine and migration settings take them: refused with a message, never a trap.
/// (The reader itself, `QEMUSize`, is tested in QObjectTests.)
@Suite struct SizeParserEdgeTests {
    /// `migrate_set_parameter max-bandwidth +` killed hmp.
    @Test(arguments: ["+", "-", ".", "0x", "nan", "inf", "16E", "18446744073709551616", "8E", " +", "\0"] as [ArgumentText])
    func maxBandwidthRefusesOddSizes(_ text: ArgumentText) {
        let value = text.value
        var parameters = MigrationParameters()
        #expect(throws: MigrationSettingError("Invalid size \(value)")) {
            try parameters.set(name: "max-bandwidth", value: value)
        }
        #expect(parameters == MigrationParameters())
    }

    @Test func otherParametersRefuseOddValues() {
        var parameters = MigrationParameters()
        for value in ["+", "-", "0x", "", "\u{FF11}", "0xg", String(repeating: "9", count: 100_000)] {
            #expect(throws: MigrationSettingError.self) { try parameters.set(name: "compress-level", value: value) }
            #expect(throws: MigrationSettingError.self) { try parameters.set(name: "x-checkpoint-delay", value: value) }
        }
        for value in ["+", "16E", "nan"] {
            #expect(throws: MigrationSettingError.self) { try parameters.set(name: "downtime-limit", value: value) }
        }
        #expect(throws: MigrationSettingError.self) { try parameters.setDowntime(seconds: .nan) }
        #expect(throws: MigrationSettingError.self) { try parameters.setDowntime(seconds: .infinity) }
        #expect(throws: MachineError.self) { try MachineConfiguration.parseRAMSize("+") }
        #expect(throws: MachineError.self) { try MachineConfiguration.parseRAMSize("16E") }
        #expect(throws: MachineError.self) { try WorkloadRates.parse("ram=+") }
        #expect(throws: MachineError.self) { try DriveConfiguration.parse(",,,=,", index: 0) }
    }
}
