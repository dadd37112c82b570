import Machine
import Migration
import Testing

/// `parseSize` at its edges: each text must give a size or a SizeParseFailure, never trap.
@Suite struct SizeParserEdgeTests {
    static func parsed(_ text: String, unit: UInt64 = 1) -> Result<UInt64, SizeParseFailure> {
        do throws(SizeParseFailure) {
            return .success(try parseSize(text, defaultUnit: unit))
        } catch {
            return .failure(error)
        }
    }

    static let invalidTexts = [
        "+", " +", "+ ", "\t+", "++1", "+-1", "-", "-1", ".", ".5", "0x", "0X", "0x.", "0x1.5", "0x1k", "1e308",
        "nan", "inf", "", " ", "\0", "1\0", "1 ", "1kk", "1.5.5", "\u{e9}", "1\u{e9}", "\u{FF11}",
    ]

    @Test(arguments: invalidTexts)
    func invalid(_ text: String) {
        for unit: UInt64 in [1, 1 << 20] {
            #expect(Self.parsed(text, unit: unit) == .failure(.invalid))
        }
    }

    static let outOfRangeTexts: [(String, UInt64)] = [
        ("18446744073709551616", 1), ("99999999999999999999999999", 1), ("16E", 1), ("16384P", 1),
        ("18446744073709551615", 1 << 20), ("17592186044416", 1 << 20), ("15.9999999999999999999E", 1),
        ("0x10000000000000000", 1), ("1.5", .max),
    ]

    @Test(arguments: outOfRangeTexts)
    func outOfRange(_ text: String, _ unit: UInt64) {
        #expect(Self.parsed(text, unit: unit) == .failure(.outOfRange))
    }

    static let valueTexts: [(String, UInt64, UInt64)] = [
        ("+1", 1, 1), ("  +1k", 1, 1024), ("15E", 1, 15 << 60), ("18446744073709551615", 1, .max),
        ("0xffffffffffffffff", 1, .max), ("1.5", 1 << 20, 3 << 19), ("0.5", 1 << 20, 1 << 19), ("1.k", 1, 1024),
        ("1.0", 1, 1), ("0", 1 << 20, 0), ("17592186044415", 1 << 20, 17_592_186_044_415 << 20),
        ("1.\(String(repeating: "9", count: 10_000))k", 1, 2048),
        ("1.\(String(repeating: "0", count: 10_000))1k", 1, 1024), ("0.0000000001E", 1, 115_292_150),
        ("1", 0, 0), ("1.5", 0, 0),
    ]

    @Test(arguments: valueTexts)
    func values(_ text: String, _ unit: UInt64, _ bytes: UInt64) {
        #expect(Self.parsed(text, unit: unit) == .success(bytes))
    }

    @Test func longTextsAreLinear() {
        #expect(Self.parsed(String(repeating: "9", count: 1 << 20)) == .failure(.outOfRange))
        #expect(Self.parsed(String(repeating: "0", count: 1 << 20) + "1k") == .success(1024))
        #expect(Self.parsed(String(repeating: " ", count: 1 << 20)) == .failure(.invalid))
    }

    /// `migrate_set_parameter max-bandwidth +` killed hmp.
    @Test(arguments: ["+", "-", ".", "0x", "nan", "inf", "16E", "18446744073709551616", "8E", " +", "\0"])
    func maxBandwidthRefusesOddSizes(_ value: String) {
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
