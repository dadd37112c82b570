import QMP
import Testing

@Suite struct JSONStreamSplitterTests {
    private func texts(_ pieces: [JSONStreamSplitter.Piece]) -> [String] {
        pieces.map { piece in
            switch piece {
            case .text(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .stray(let bytes): return "<stray \(String(decoding: bytes, as: UTF8.self))>"
            case .tooLarge(let limit): return limit == .size ? "<too large>" : "<too large: \(limit)>"
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
        #expect(texts(splitter.feed(deep + Array("{}".utf8))) == ["<too large: depth>", "{}"])
    }

    /// QEMU's lexer refuses 0xFE and 0xFF in a string, and any byte of 0x80 or more outside one, as a stray token;
    /// it then skips to a bracket, comma, colon or control character (QEMU 7.2 answered `{"id":"\xff"}` with
    /// `stray '"\uFFFD'` and then `expecting value` for the lone `}`).
    @Test func impossibleBytesAreStrayAndTheLexerRecovers() {
        var splitter = JSONStreamSplitter()
        let pieces = splitter.feed(Array(#"{"id":""#.utf8) + [0xFF] + Array(#"xyz"}{"a":1}"#.utf8))
        #expect(pieces == [.stray([0x22, 0xFF]), .text(Array("}".utf8)), .text(Array(#"{"a":1}"#.utf8))])
        #expect(splitter.feed([0x80, 0x61, 0x7D]) == [.stray([0x80]), .text(Array("}".utf8))])
        #expect(splitter.feed(Array(#"{"a":"é"}"#.utf8)) == [.text(Array(#"{"a":"é"}"#.utf8))])
    }

    /// A stray string is quoted in part only: 60 MiB broken by a line break must not become a 60 MiB error text.
    @Test func aStrayTokenIsQuotedInPart() {
        var splitter = JSONStreamSplitter()
        let pieces = splitter.feed(Array(("\"" + String(repeating: "a", count: 1 << 20) + "\n{}").utf8))
        #expect(pieces == [.stray(Array(("\"" + String(repeating: "a", count: 255) + "...").utf8)), .text(Array("{}".utf8))])
    }

    /// QEMU's 2 Mi token bound, told as soon as it is crossed: so a value of a million tiny members cannot make
    /// the parser build a tree many times the size of its bytes.
    @Test func tooManyTokensAreToldAtOnce() {
        var splitter = JSONStreamSplitter()
        let many = Array("[".utf8) + Array(String(repeating: "1,", count: 1_100_000).utf8)
        #expect(splitter.feed(many) == [.tooLarge(.tokens)])
        #expect(texts(splitter.feed(Array("1]{}".utf8))) == ["{}"])
    }

    @Test func aValueOverTheSizeLimitIsToldBeforeItEnds() {
        var splitter = JSONStreamSplitter(limit: 16)
        #expect(splitter.feed(Array(#"{"a":"0123456789012345678901234"#.utf8)) == [.tooLarge(.size)])
        #expect(texts(splitter.feed(Array(#""}{"b":1}"#.utf8))) == [#"{"b":1}"#])
    }
}
