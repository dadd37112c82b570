import Glibc
import QObject
import Testing

/// What a hostile QMP peer can send the JSON parser: work stays linear, and what QEMU 7.2 refuses is refused with
/// QEMU's words (the texts after `JSON parse error, `, as QEMU 7.2 sent them for the same bytes).
@Suite struct HostileJSONTests {
    private func qemuText(_ bytes: [UInt8]) -> String? {
        do throws(JSONError) {
            _ = try QValue(jsonBytes: bytes)
            return nil
        } catch {
            return error.qemuText
        }
    }

    private func qemuText(_ text: String) -> String? { qemuText(Array(text.utf8)) }

    private func seconds(_ work: () throws -> Void) rethrows -> Double {
        var start = timespec()
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        try work()
        clock_gettime(CLOCK_MONOTONIC, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }

    /// 240,000 keys took 55 s when every insert searched the dict; now a hash index finds them. The bound is
    /// generous for a debug build on a loaded two-core machine; quadratic work would take minutes.
    @Test func manyKeysParseInLinearTime() throws {
        let keys = 240_000
        var text = "{"
        for i in 0..<keys { text += (i == 0 ? "" : ",") + "\"k\(i)\":\(i)" }
        text += "}"
        var value = QValue.null
        let elapsed = try seconds { value = try QValue(json: text) }
        let dict = try #require(value.dict)
        #expect(dict.count == keys)
        #expect(dict["k123456"] == .int(123456))
        #expect(dict.keys.first == "k0" && dict.keys.last == "k239999")
        #expect(elapsed < 10, "240k keys took \(elapsed) s")
    }

    @Test func qdictKeepsOrderThroughRemovalWithItsIndex() {
        var d: QDict = ["a": 1, "b": 2, "c": 3]
        d["b"] = nil
        d["d"] = 4
        #expect(d.keys == ["a", "c", "d"])
        #expect(d["c"] == 3 && d["d"] == 4 && d["b"] == nil)
        #expect(!d.insertNew("a", 9) && d["a"] == 1)
        #expect(d.hashValue == (["d": 4, "c": 3, "a": 1] as QDict).hashValue)
    }

    @Test func duplicateKeysAreRefusedAfterTheirValue() {
        #expect(qemuText(#"{"execute":"query-name","execute":"query-status"}"#) == "duplicate key")
        #expect(qemuText(#"{"a":{"b":1,"b":2}}"#) == "duplicate key")
        // QEMU reads the value before it checks the key: the value's own error wins.
        #expect(qemuText(Array(#"{"a":1,"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) == "invalid UTF-8 sequence in string")
    }

    @Test func invalidUTF8IsRefusedNotReplaced() throws {
        for bad: [UInt8] in [[0x80], [0xC3, 0x28], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80],
                             [0xEF, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFE], [0xFF]]
        {
            #expect(qemuText([0x22] + bad + [0x22]) == "invalid UTF-8 sequence in string", "\(bad)")
        }
        // Modified UTF-8's NUL is QEMU's U+0000; well-formed text passes through.
        #expect(try QValue(jsonBytes: [0x22, 0x61, 0xC0, 0x80, 0x62, 0x22]) == .string("a\u{0}b"))
        #expect(try QValue(jsonBytes: Array("\"é€😀\"".utf8)) == .string("é€😀"))
    }

    @Test func escapesAsQEMUReadsThem() throws {
        #expect(qemuText(#""\ud800""#) == #"\ud800 is not a valid Unicode character"#)
        #expect(qemuText(#""\udc00x""#) == #"\udc00 is not a valid Unicode character"#)
        #expect(qemuText(#""\uD800\u0041""#) == #"\uD800 is not a valid Unicode character"#)
        #expect(qemuText(#""\uDBFF\uDFFF""#) == #"\uDBFF\uDFFF is not a valid Unicode character"#)
        #expect(qemuText(#""\uffff""#) == #"\uffff is not a valid Unicode character"#)
        #expect(qemuText(#""\u12g4""#) == #"\u12g4 is not a valid Unicode character"#)
        #expect(qemuText(#""\x""#) == "invalid escape sequence in string")
        #expect(try QValue(json: #""\ud83d\ude00\u0000""#) == .string("😀\u{0}"))
        #expect(try QValue(json: #"'a\'b"c'"#) == .string("a'b\"c"))
    }

    @Test func outOfRangeNumbersAsQEMU() throws {
        #expect(try QValue(json: "1e999999").json == "inf")
        #expect(try QValue(json: "-1e999999").json == "-inf")
        #expect(try QValue(json: "1e-999999").json == "0")
        #expect(try QValue(json: "18446744073709551615") == .uint(UInt64.max))
        #expect(try QValue(json: "18446744073709551616").json == "1.8446744073709552e+19")
        #expect(try QValue(json: "-9223372036854775809").json == "-9.2233720368547758e+18")
    }

    /// 60 MiB of invalid UTF-8 in one string took 11 s and 1 GB to turn into an error text; now the first bad byte
    /// ends it.
    @Test func aHugeInvalidStringFailsAtOnce() {
        let bytes = [0x22] + [UInt8](repeating: 0xC3, count: 60 << 20) + [0x22]
        var text: String?
        let elapsed = seconds { text = qemuText(bytes) }
        #expect(text == "invalid UTF-8 sequence in string")
        #expect(elapsed < 2, "took \(elapsed) s")
    }
}
