/// Cuts a byte stream into JSON texts as QEMU's json-streamer does: a value is complete when its last bracket
/// closes, whatever came before or after it (`\r\n`, nothing, or the next object in the same read), and an object may
/// span reads and lines. Strings in either quote (QEMU accepts single quotes) hide brackets.
///
/// Work is linear in the bytes fed, and what one text may hold is bounded (bytes, tokens, nesting, as QEMU bounds
/// them), so a peer that never closes a brace costs at most `limit` bytes.
public struct JSONStreamSplitter: Sendable {
    /// Which of QEMU's bounds a value went over.
    public enum Limit: Sendable, Equatable {
        case size, tokens, depth

        /// QEMU 7.2's error text for it.
        public var qemuText: String {
            switch self {
            case .size: "JSON token size limit exceeded"
            case .tokens: "JSON token count limit exceeded"
            case .depth: "JSON nesting depth limit exceeded"
            }
        }
    }

    /// One piece of the stream.
    public enum Piece: Sendable, Equatable {
        /// A complete top-level value's bytes, ready for the JSON parser.
        case text([UInt8])
        /// A value that grew past a limit, told as soon as it does; the rest of that value is dropped unseen.
        case tooLarge(Limit)
        /// What QEMU's lexer refuses as a token: a string broken by a control character or by a byte no UTF-8 has
        /// (0xFE, 0xFF), from its opening quote to that byte, or a byte that starts no token (0x80 and up, control
        /// characters). At most `strayQuoteLimit` bytes of it, then `...`. QEMU drops the value it was part of
        /// and skips what follows up to a byte that can start over (a bracket, comma, colon, control character).
        case stray([UInt8])
    }

    /// QEMU's own bounds (json-streamer.c): 64 MiB a value, 2 Mi tokens, 1024 levels of nesting.
    public static let defaultLimit = 64 << 20
    public static let maxTokens = 2 << 20
    public static let maxDepth = 1024
    /// How much of a stray token an error quotes: enough to recognise it, never the megabytes a peer sent.
    public static let strayQuoteLimit = 256

    public let limit: Int
    private var pending: [UInt8] = []
    private var depth = 0
    private var quote: UInt8 = 0
    private var escaped = false
    /// Where the open string starts in `pending`.
    private var stringStart = 0
    /// A keyword or number at the top level, which ends at the next delimiter rather than at a bracket.
    private var inScalar = false
    /// Inside a keyword or number at any depth, for counting tokens.
    private var inWord = false
    private var tokens = 0
    /// True while dropping the rest of a value that went over a limit.
    private var discarding = false
    /// True after a stray token, while skipping to a byte where QEMU's lexer starts over.
    private var recovering = false

    public init(limit: Int = JSONStreamSplitter.defaultLimit) {
        self.limit = limit
    }

    /// True when bytes of an unfinished value are held.
    public var hasPartialValue: Bool { !pending.isEmpty || discarding }

    /// Feeds `bytes` and returns the values they complete, in order.
    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [Piece] {
        var pieces: [Piece] = []
        for byte in bytes { step(byte, into: &pieces) }
        return pieces
    }

    /// The same for a read buffer, without going through the generic (unspecialised across modules, it cost
    /// about a microsecond a byte).
    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> [Piece] {
        var pieces: [Piece] = []
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer { step(byte, into: &pieces) }
        }
        return pieces
    }

    public mutating func feed(_ bytes: [UInt8]) -> [Piece] { feed(bytes[...]) }

    /// Ends the stream: a top-level keyword or number still open completes; an open object is dropped, as QEMU
    /// drops it when the client goes away.
    public mutating func finish() -> [Piece] {
        var pieces: [Piece] = []
        if inScalar && !discarding { emit(into: &pieces) }
        reset()
        return pieces
    }

    private mutating func reset() {
        pending.removeAll(keepingCapacity: pending.capacity <= 65536)
        depth = 0
        quote = 0
        escaped = false
        inScalar = false
        inWord = false
        tokens = 0
        discarding = false
    }

    private mutating func emit(into pieces: inout [Piece]) {
        if !discarding { pieces.append(.text(pending)) }
        reset()
    }

    /// Tells of the limit at once and drops what is held; the value's remaining bytes are skipped as they come.
    private mutating func overflow(_ which: Limit, into pieces: inout [Piece]) {
        guard !discarding else { return }
        pieces.append(.tooLarge(which))
        pending = []
        discarding = true
    }

    private mutating func keep(_ byte: UInt8, into pieces: inout [Piece]) {
        guard !discarding else { return }
        if pending.count >= limit {
            overflow(.size, into: &pieces)
            return
        }
        pending.append(byte)
    }

    private mutating func countToken(into pieces: inout [Piece]) {
        tokens += 1
        if tokens > JSONStreamSplitter.maxTokens && depth > 0 { overflow(.tokens, into: &pieces) }
    }

    /// `token` (what is held of it, and `last`), quoted up to the limit, then QEMU's recovery.
    private mutating func stray(_ token: ArraySlice<UInt8>, last: UInt8, into pieces: inout [Piece]) {
        let limit = JSONStreamSplitter.strayQuoteLimit
        let quoted = token.count < limit ? Array(token) + [last] : Array(token.prefix(limit)) + Array("...".utf8)
        if !discarding { pieces.append(.stray(quoted)) }
        reset()
        recovering = true
    }

    private mutating func step(_ byte: UInt8, into pieces: inout [Piece]) {
        let isStructural = byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "[")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: ":")
        if recovering {
            guard byte < 0x20 || byte >= 0xFE || isStructural else { return }
            recovering = false
        }
        if quote != 0 {
            if byte < 0x20 || byte >= 0xFE {
                stray(pending[min(stringStart, pending.count)...], last: byte, into: &pieces)
                return
            }
            keep(byte, into: &pieces)
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == quote {
                quote = 0
                if depth == 0 { emit(into: &pieces) }
            }
            return
        }
        let isSpace = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        let isQuote = byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        if inScalar && (isSpace || isStructural || isQuote) {
            emit(into: &pieces)
        }
        if isSpace || isStructural || isQuote { inWord = false }
        if isSpace {
            if depth > 0 { keep(byte, into: &pieces) }
            return
        }
        if byte < 0x20 || byte >= 0x80 {
            // No token starts with these: QEMU's lexer takes the byte alone as a stray token.
            inScalar = false
            stray([], last: byte, into: &pieces)
            return
        }
        keep(byte, into: &pieces)
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            quote = byte
            stringStart = max(0, pending.count - 1)
            countToken(into: &pieces)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            countToken(into: &pieces)
            if depth > JSONStreamSplitter.maxDepth { overflow(.depth, into: &pieces) }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            countToken(into: &pieces)
            // A closer with nothing open is a value of its own, for the parser to refuse.
            if depth > 0 { depth -= 1 }
            if depth == 0 { emit(into: &pieces) }
        case UInt8(ascii: ","), UInt8(ascii: ":"):
            countToken(into: &pieces)
            if depth == 0 { emit(into: &pieces) }
        default:
            if !inWord {
                inWord = true
                countToken(into: &pieces)
            }
            if depth == 0 { inScalar = true }
        }
    }
}
