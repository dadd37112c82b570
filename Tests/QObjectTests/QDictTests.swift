import QObject
import Testing
import TestSupport

@Suite struct QDictTests {
    @Test func keepsInsertionOrderAndRemovesOnNil() {
        var d = QDict()
        d["detach"] = true
        d["blk"] = true
        d["uri"] = "tcp:0:4444"
        #expect(d.keys == ["detach", "blk", "uri"])
        d["blk"] = nil
        #expect(d.keys == ["detach", "uri"])
        #expect(d.string("uri") == "tcp:0:4444")
        #expect(d.bool("blk") == nil)
    }

    @Test func equalityIgnoresOrder() {
        let a: QDict = ["a": 1, "b": "x"]
        let b: QDict = ["b": "x", "a": 1]
        #expect(a == b)
        #expect(a != ["a": 2, "b": "x"])
    }

    @Test func typedAccessors() {
        let d: QDict = ["i": 42, "d": 1.5, "s": "hi", "b": false, "big": .uint(UInt64.max)]
        #expect(d.int("i") == 42)
        #expect(d.double("i") == 42)
        #expect(d.double("d") == 1.5)
        #expect(d.int("big") == nil)
        #expect(d.uint("big") == UInt64.max)
        #expect(d.bool("b") == false)
        #expect(d.string("i") == nil)
    }

    @Test func jsonIsSpacedAsQMPReplies() {
        let d: QDict = ["detach": true, "blk": true, "uri": "tcp:0:4444"]
        #expect(QValue.dict(d).json == #"{"detach": true, "blk": true, "uri": "tcp:0:4444"}"#)
        #expect(QValue.list([1, 2.5, nil, "a\"b\n"]).json == #"[1, 2.5, null, "a\"b\n"]"#)
        // A whole double has no fraction, as QEMU writes it (an id of 1.0 comes back as 1).
        #expect(QValue.double(3).json == "3")
        #expect(QValue.double(-0.0).json == "-0")
        #expect(QValue.double(1e300).json == "1.0000000000000001e+300")
        // QEMU writes doubles with "%.17g" (query-migrate's mbps).
        #expect(QValue.double(335.15568773234202).json == "335.15568773234202")
        #expect(QValue.double(268.56864000000002).json == "268.56864000000002")
    }

    @Test func jsonRoundTrips() throws {
        let text = #"{"execute": "migrate", "arguments": {"uri": "tcp:[::1]:4444", "blk": true, "n": -3, "x": 2.5e-1, "u": "\u00e9\ud83d\ude00"}}"#
        let value = try QValue(json: text)
        let args = try #require(value.dict?["arguments"]?.dict)
        #expect(args.string("uri") == "tcp:[::1]:4444")
        #expect(args.int("n") == -3)
        #expect(args.double("x") == 0.25)
        #expect(args.string("u") == "é😀")
        #expect(try QValue(json: value.json) == value)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "{\"a\":1,}", "\"\u{01}\""] as [ArgumentText])
    func malformedJSONIsAnError(text: ArgumentText) {
        #expect(throws: JSONError.self) { try QValue(json: text.value) }
    }
}
