import QMP
import Testing

@Suite struct JSONStreamSplitterTests {
    private func texts(_ pieces: [JSONStreamSplitter.Piece]) -> [String] {
        pieces.map { piece in
            switch piece {
            case .text(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .stray(let bytes): return "<stray \(String(decoding: bytes, as: UTF8.self))>"
            case .tooLarge: return "<too large>"
            }
        }
    }

    @Test func twoObjectsInOneReadWithoutASeparator() {
        var splitter = JSONStreamSplitter()
        #expect(texts(splitter.feed(Array(#"{"execute":"a"}{"execute":"b"}"#.utf8))) == [#"{"execute":"a"}"#, #"{"execute":"b"}"#])
    }

    @Test func anObjectAcrossReadsAndLines() {
        var splitter = JSONStreamSplitter()
        #expect(splitter.feed(Array(#"{"execute":"query-"#.utf8)).isEmpty)
        #expect(splitter.hasPartialValue)
        #expect(texts(splitter.feed(Array("status\",\n\"id\":\"split\"}\r\n".utf8))) == ["{\"execute\":\"query-status\",\n\"id\":\"split\"}"])
        #expect(!splitter.hasPartialValue)
    }

    /// As QEMU's lexer: a line break inside a string is a stray token at once, the value around it dropped,
    /// and the next line starts afresh.
    @Test func aControlCharacterInAStringIsAStrayToken() {
        var splitter = JSONStreamSplitter()
        let input = "{\"execute\": \"query-status\n{\"execute\":\"query-status\"}"
        #expect(texts(splitter.feed(Array(input.utf8))) == ["<stray \"query-status\n>", #"{"execute":"query-status"}"#])
        #expect(!splitter.hasPartialValue)
    }

    @Test func bracketsInStringsOfEitherQuoteDoNotCount() {
        var splitter = JSONStreamSplitter()
        let input = #"{"a":"}{\"]","b":'}\''}"#
        #expect(texts(splitter.feed(Array(input.utf8))) == [input])
    }

    @Test func blankLinesAloneGiveNothing() {
        var splitter = JSONStreamSplitter()
        #expect(splitter.feed(Array("\n\n   \r\n".utf8)).isEmpty)
    }

    @Test func junkAfterAnObjectIsAValueOfItsOwn() {
        var splitter = JSONStreamSplitter()
        #expect(texts(splitter.feed(Array("{\"execute\":\"query-status\"}x\n".utf8))) == [#"{"execute":"query-status"}"#, "x"])
        #expect(texts(splitter.feed(Array("} 42 \"s\"".utf8))) == ["}", "42", "\"s\""])
    }

    @Test func aValueOverTheLimitIsDroppedAndTheNextOneStillParses() {
        var splitter = JSONStreamSplitter(limit: 16)
        let pieces = splitter.feed(Array(#"{"a":"0123456789012345678901234"}{"b":1}"#.utf8))
        #expect(texts(pieces) == ["<too large>", #"{"b":1}"#])
    }

    @Test func nestingBeyondTheDepthLimitIsDroppedInLinearTime() {
        var splitter = JSONStreamSplitter()
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000) + [UInt8](repeating: UInt8(ascii: "]"), count: 1_000_000)
        #expect(texts(splitter.feed(deep + Array("{}".utf8))) == ["<too large>", "{}"])
    }
}
