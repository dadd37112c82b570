import QObject
import Testing
import TestSupport

/// `QEMUSize` against what QEMU 7.2 answered (`migrate_set_parameter max-bandwidth` for MiB by default,
/// `max-postcopy-bandwidth` for bytes, then `info migrate_parameters`); `QEMUSizeAsQEMUTests` in EndToEndTests
/// asks the real QEMU 7.2 again each run.
@Suite struct QEMUSizeTests {
    static func parsed(_ text: String, unit: UInt64 = 1) -> Result<UInt64, SizeParseFailure> {
        do throws(SizeParseFailure) {
            return .success(try parseSize(text, defaultUnit: unit))
        } catch {
            return .failure(error)
        }
    }

    static let mebibyteSizes: [(ArgumentText, UInt64)] = [
        ("0x1k", 1024), ("0.0005k", 1), ("1.5", 1_572_864), ("0x10", 16 << 20), ("1.k", 1024), ("1.", 1 << 20),
        ("1.e", 1 << 60), ("+1", 1 << 20), ("0X1M", 1 << 20), ("0x1b", 0x1b << 20), ("7.9999999E", 9_223_371_921_562_625_408),
        ("1.0b", 1), ("0.00000001k", 0), ("0.0001", 105), ("1.99999999999999999999k", 1024), ("0x1g", 1 << 30),
        ("8191P", 9_222_246_136_947_933_184), ("7.99999999999999999999E", 7 << 60),
        ("7.9999999999999999E", 9_223_372_036_854_775_680), ("1.9e999", 1 << 20),
        // strtod underflows: QEMU steps one byte past the digits, over the `k`.
        ("1.\(String(repeating: "0", count: 400))1k", 1 << 20), ("1.\(String(repeating: "0", count: 400))1kk", 1024),
    ]

    @Test(arguments: mebibyteSizes)
    func inMebibytesByDefault(_ text: ArgumentText, _ bytes: UInt64) {
        #expect(Self.parsed(text.value, unit: 1 << 20) == .success(bytes))
    }

    static let byteSizes: [(ArgumentText, UInt64)] = [
        ("4096", 4096), ("4k", 4096), ("4K", 4096), ("2M", 2 << 20), ("1G", 1 << 30), ("1T", 1 << 40),
        ("1.5k", 1536), ("0x10", 16), ("0x10k", 16384), ("1.k", 1024), ("1.", 1), ("1.0", 1), ("1.5e", 3 << 59),
        ("0.5k", 512), ("0.0005k", 1), ("15E", 15 << 60), ("+1", 1), ("  +1k", 1024), ("0xffffffffffffffff", .max),
        ("18446744073709551615", .max), ("1", 0), ("1.5", 0),
    ]

    @Test(arguments: byteSizes)
    func inBytesByDefault(_ text: ArgumentText, _ bytes: UInt64) {
        let unit: UInt64 = text.value == "1" || text.value == "1.5" ? 0 : 1
        #expect(Self.parsed(text.value, unit: unit) == .success(bytes))
    }

    static let invalidTexts: [ArgumentText] = [
        ".5", "0x", "0x.", "0x1.5", "1e3", "1.5e3", "-1", "-0", "+-1", "++1", "1kk", "1.5b", "0.5b", "00x1", "0xg",
        "1.5.5", "1x", "0x0x1", "abc", "12x", "+", " +", "-", ".", "nan", "inf", "", " ", "\0", "1\0", "1 ",
        "\u{e9}", "1\u{e9}", "\u{FF11}", "9999999999999999999999k",
    ]

    @Test(arguments: invalidTexts)
    func invalid(_ text: ArgumentText) {
        for unit: UInt64 in [1, 1 << 20] {
            #expect(Self.parsed(text.value, unit: unit) == .failure(.invalid))
        }
    }

    static let outOfRangeTexts: [(String, UInt64)] = [
        ("18446744073709551616", 1), ("99999999999999999999", 1), ("16E", 1), ("16384P", 1),
        ("18446744073709551615", 1 << 20), ("17592186044416", 1 << 20), ("0x10000000000000000", 1), ("1.5", .max),
    ]

    @Test(arguments: outOfRangeTexts)
    func outOfRange(_ text: String, _ unit: UInt64) {
        #expect(Self.parsed(text, unit: unit) == .failure(.outOfRange))
    }

    @Test func hexWithASuffixIsFlaggedForQEMUsWarning() throws {
        #expect(try QEMUSize.parse("0x1k").hexWithSuffix)
        #expect(try !QEMUSize.parse("0x1b").hexWithSuffix, "b is a hex digit")
        #expect(try !QEMUSize.parse("1k").hexWithSuffix)
        #expect(QEMUSize.hexSuffixWarning("0x1k") == "warning: Using a multiplier suffix on hex numbers is deprecated: 0x1k")
    }

    @Test func withAnEndTheRestIsLeft() throws {
        let bytes = Array("1k 2".utf8)
        #expect(try QEMUSize.parse(bytes, from: 0, defaultUnit: 1 << 20) == ParsedSize(bytes: 1024, end: 2, hexWithSuffix: false))
        #expect(throws: SizeParseFailure.invalid) { try QEMUSize.parse(bytes, from: 4, defaultUnit: 1) }
        #expect(throws: SizeParseFailure.invalid) { try QEMUSize.parse([], from: 0, defaultUnit: 1) }
        // The end of the text stops the step past an underflowing fraction: nothing is read beyond it.
        let under = Array("1.\(String(repeating: "0", count: 400))1".utf8)
        #expect(try QEMUSize.parse(under, from: 0, defaultUnit: 1 << 20).end == under.count)
    }

    @Test func longTextsAreLinear() {
        #expect(Self.parsed(String(repeating: "9", count: 1 << 20)) == .failure(.outOfRange))
        #expect(Self.parsed(String(repeating: "0", count: 1 << 20) + "1k") == .success(1024))
        #expect(Self.parsed(String(repeating: " ", count: 1 << 20)) == .failure(.invalid))
    }
}
