@testable import HMP
import QObject
import Testing

/// Lines no one means to type: each must parse or fail with a message, never trap or exhaust the stack.
@Suite struct HostileInputTests {
    static let tooDeep = "expression nested too deeply (the limit is 1000 levels)"

    /// The value as text, or the failure's message.
    static func evaluate(_ text: String) -> String {
        var cursor = LineCursor(text)
        do throws(ArgumentFailure) {
            return String(try Expression.evaluate(&cursor))
        } catch {
            return error.message
        }
    }

    static func failureLines(_ line: String) -> [String]? { TestTable.failure(line)?.lines }

    // MARK: Nesting

    @Test(arguments: ["(", "-", "~", "+", "-(", "~ ", "( "])
    func deepNestingFails(_ unit: String) {
        #expect(Self.evaluate(String(repeating: unit, count: 100_000) + "1") == Self.tooDeep)
        // Through the parser, on a line under the length limit.
        #expect(Self.failureLines("p " + String(repeating: unit, count: 30_000) + "1")
            == [Self.tooDeep, "Try \"help p\" for more information"])
    }

    @Test func nestingUpToTheLimitWorks() {
        let open = String(repeating: "(", count: 1000), close = String(repeating: ")", count: 1000)
        #expect(Self.evaluate(open + "1" + close) == "1")
        let deeper: String = "(" + open + "1" + close + ")"
        #expect(Self.evaluate(deeper) == Self.tooDeep)
        #expect(Self.evaluate(String(repeating: "-", count: 1000) + "5") == "5")
        #expect(Self.evaluate(String(repeating: "~", count: 999) + "0") == "-1")
        #expect(Self.evaluate(String(repeating: "-", count: 1001) + "5") == Self.tooDeep)
        // Depth is what is open at once, not a count over the line: many shallow groups are fine.
        let flat = Array(repeating: "(-(1))", count: 5000).joined(separator: "+")
        #expect(Self.evaluate(flat) == "-5000")
    }

    // MARK: Line length

    @Test func longLinesAreRefused() {
        let mib = "p " + String(repeating: "(", count: 1 << 20)
        #expect(Self.failureLines(mib) == ["line too long (1048578 bytes; the limit is 65536)"])
        #expect(Self.failureLines("p " + String(repeating: "(", count: 100_000))
            == ["line too long (100002 bytes; the limit is 65536)"])
        let junk = String(repeating: "\u{e9}", count: 40_000)  // two bytes each: bytes count, not characters
        #expect(Self.failureLines(junk) == ["line too long (80000 bytes; the limit is 65536)"])
    }

    @Test func aLineAtTheLimitParses() throws {
        let head = "pmemsave 0 1 "
        let name = String(repeating: "f", count: LineLength.limit - head.utf8.count)
        #expect(try TestTable.args(head + name)["filename"] == .string(name))
        #expect(Self.failureLines(head + name + "f") == ["line too long (65537 bytes; the limit is 65536)"])
    }

    @Test func longButLegalLinesStayFast() throws {
        // Each of these was a candidate for quadratic work: flags (FlagHint), words, sums, quoted strings.
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            _ = TestTable.failure("migrate " + String(repeating: "-d ", count: 20_000) + "uri")
            _ = TestTable.failure("p " + Array(repeating: "1", count: 30_000).joined(separator: "+"))
            _ = TestTable.failure("migrate \"" + String(repeating: "\\n", count: 30_000) + "\"")
            _ = TestTable.failure("device_add " + String(repeating: "a=b,", count: 15_000))
            _ = TestTable.failure("sleep " + String(repeating: "9", count: 60_000))
        }
        #expect(elapsed < .seconds(20))
    }

    // MARK: Bytes

    /// A NUL reaches the parser only as QMP's `"\u0000"`, which QEMU 7.2 holds as modified UTF-8 (`\xC0\x80`): part
    /// of the word it is in, not the end of the line (monitors reading C strings cut at NUL before parsing).
    @Test func nulIsPartOfTheWordAsQEMUsModifiedUTF8() throws {
        #expect(Self.failureLines("help\0x") == ["unknown command: 'help\0x'"])
        #expect(Self.failureLines("quit\0garbage") == ["unknown command: 'quit\0garbage'"])
        #expect(Self.failureLines("info\0 status") == ["unknown command: 'info\0'"])
        #expect(Self.failureLines("\0") == ["unknown command: '\0'"])
    }

    @Test func invalidUTF8AndHighBytes() {
        // A monitor decodes its input with replacement, so invalid bytes arrive as U+FFFD (EF BF BD).
        let line = String(decoding: [0x70, 0x20, 0xff, 0xfe] as [UInt8], as: UTF8.self)
        #expect(Self.failureLines(line) == [
            "invalid char '\u{FFFD}' in expression", "Try \"help p\" for more information",
        ])
        #expect(Self.failureLines("\u{e9}t\u{e9}") == ["unknown command: '\u{e9}t\u{e9}'"])
        #expect(Self.failureLines("p '\u{e9}'") == [
            "missing terminating ' character", "Try \"help p\" for more information",
        ])
        #expect(Self.evaluate("'\u{80}'") == "missing terminating ' character")
    }

    // MARK: Sizes (`o`)

    static let oddSizeTexts: [(String, String)] = [
        ("+", "invalid size"), ("-", "invalid size"), (".", "invalid size"), ("nan", "invalid size"),
        ("inf", "invalid size"), ("18446744073709551616", "invalid size"), ("16E", "invalid size"),
        ("8E", "invalid size"), ("0x8000000000000000b", "invalid size"), ("-0", "invalid size"),
        ("1e308", "block_resize: extraneous characters at the end of line"),
        ("0x.", "block_resize: extraneous characters at the end of line"),
    ]

    @Test(arguments: oddSizeTexts)
    func oddSizes(_ text: String, _ message: String) {
        #expect(TestTable.failure("block_resize d \(text)")?.message == message)
    }

    @Test func hugeFractions() throws {
        // So many nines that the double rounds to 1: QEMU 7.2's fixed-point conversion makes that 0, not a trap.
        #expect(try TestTable.args("block_resize d 1.\(String(repeating: "9", count: 10_000))k")["size"] == .int(1024))
        // The fraction underflows: QEMU steps one byte past strtod's end, over the `k`, so MiB it is.
        #expect(try TestTable.args("block_resize d 1.\(String(repeating: "0", count: 10_000))1k")["size"] == .int(1 << 20))
        // An exponent needs digits, so the `e` of `1.5e` is the exbibyte suffix, as in QEMU.
        #expect(try TestTable.args("block_resize d 1.5e")["size"] == .int(3 << 59))
        // 8E = 2^63 is one past what the QDict's int64 holds; 7.999…E is 7E as the fraction rounds to 1.0 (see above).
        #expect(TestTable.failure("block_resize d 8E")?.message == "invalid size")
        #expect(try TestTable.args("block_resize d 7.99999999999999999999E")["size"] == .int(7 << 60))
    }

    @Test func sizeReaderAtTheEdges() {
        let bytes = Array("+".utf8)
        #expect(throws: SizeParseFailure.invalid) { try QEMUSize.parse(bytes, from: 0, defaultUnit: 1 << 20) }
        #expect(throws: SizeParseFailure.invalid) { try QEMUSize.parse(bytes, from: 1, defaultUnit: 1 << 20) }
        #expect(throws: SizeParseFailure.invalid) { try QEMUSize.parse(bytes, from: 5, defaultUnit: 1 << 20) }
        #expect(throws: SizeParseFailure.invalid) { try QEMUSize.parse([], from: 0, defaultUnit: 1 << 20) }
    }

    // MARK: strtoull, strtod

    @Test func strtoullAtTheEdges() {
        for base in [0, 10, 16] {
            for text in ["", "+", "-", " ", "0x", "-0x", "\0"] {
                let bytes = Array(text.utf8)
                for start in 0...bytes.count + 2 {
                    let n = CNumbers.strtoull(bytes, from: start, base: base)
                    #expect(n.end == start || text == "0x" || text == "-0x")
                }
            }
        }
        let over = CNumbers.strtoull(Array("18446744073709551616".utf8), from: 0, base: 10)
        #expect(over.overflow && over.value == .max && over.end == 20)
        #expect(CNumbers.strtoull(Array("-1".utf8), from: 0, base: 0).value == .max)
        #expect(CNumbers.strtoull(Array("0x".utf8), from: 0, base: 16).end == 1)
    }

    @Test func strtodAtTheEdges() {
        func read(_ text: String) -> String? {
            CNumbers.strtod(Array(text.utf8), from: 0).map { "\($0.value)@\($0.end)" }
        }
        #expect(read("") == nil)
        #expect(read(".") == nil)
        #expect(read("-.") == nil)
        #expect(read("0x.") == "0.0@1")
        #expect(read("0x.8") == "0.5@4")
        #expect(read("1e") == "1.0@1")
        #expect(read("1e+") == "1.0@1")
        #expect(read("1e999") == "inf@5")
        #expect(read("0x1p99999") == "inf@9")
        #expect(read("nan(") == "nan@3")
        #expect(read("-infinit") == "-inf@4")
        #expect(read(String(repeating: "9", count: 100_000))?.hasPrefix("inf@") == true)
        #expect(CNumbers.strtod(Array("1".utf8), from: 9) == nil)
    }

    // MARK: T, /fmt, O, quoted words

    @Test func secondsAtTheEdges() {
        for text in ["nan", "inf", "-inf", "1e999", "-1e999", "infinity"] {
            #expect(Self.failureLines("sleep \(text)") == ["Bad number", "Try \"help sleep\" for more information"])
        }
        #expect(TestTable.failure("sleep -")?.message == "Number expected")
        #expect(TestTable.failure("sleep 0x")?.message == "Unknown unit suffix")
        #expect(TestTable.failure("sleep 1m")?.message == "Unknown unit suffix")
    }

    @Test func formatsAtTheEdges() throws {
        // QEMU reads the count into an int without a check; ours wraps at 64 bits rather than trap.
        let huge = try TestTable.args("p/\(String(repeating: "9", count: 100)) 1")
        #expect(huge["val"] == .int(1))
        #expect(TestTable.failure("p/\u{e9} 1")?.message == "invalid char in format: '\u{FFFD}'")
        #expect(TestTable.failure("p/")?.message == "unexpected end of expression")
    }

    @Test func optionListsAndQuotesAtTheEdges() {
        #expect(TestTable.failure("device_add ,,,,=,=")?.message == "Invalid parameter ''")
        #expect(TestTable.failure("migrate \"\\")?.lines == [
            "unterminated string", "migrate: string expected", "Try \"help migrate\" for more information",
        ])
        #expect(TestTable.failure("migrate \"\u{e9}\\\u{e9}\"")?.message
            == "unsupported escape code: '\\\u{FFFD}'\nmigrate: string expected")
    }

    @Test func aDashInAFlagsNameIsNotItsLetter() {
        // QEMU searches the args_type after the flag's letter; `-c` inside the name `a-b-c` must not count.
        let table = CommandTable<String>([CommandDefinition("cmd", args: "a-b-c:-n,x:s", help: "", handler: "cmd")])
        #expect(throws: HMPError("cmd: unsupported option -c", command: "cmd")) { try table.parse("cmd -c y") }
    }

    // MARK: Completion

    func complete(_ line: String) -> Completion { TestTable.table.complete(line, source: FakeSource()) }

    @Test func completionOfHostileLines() {
        // `help help help …` once recursed once per word.
        #expect(complete(String(repeating: "help ", count: 100_000) + "mig").candidates
            == ["migrate", "migrate_set_capability", "migrate_set_parameter"])
        #expect(complete(String(repeating: "(", count: 1 << 20)).candidates.isEmpty)
        #expect(complete("migrate " + String(repeating: "-d ", count: 100_000) + "-").candidates.isEmpty)
        #expect(complete("info block " + String(repeating: "x ", count: 100_000)).candidates.isEmpty)
        #expect(complete("\0\u{FFFD} \u{e9}").candidates.isEmpty)
        #expect(complete("info\r\nst") == Completion(word: "st", candidates: ["status"]))
        #expect(complete("i\u{301}") == Completion(word: "i\u{301}", candidates: []))
    }
}
