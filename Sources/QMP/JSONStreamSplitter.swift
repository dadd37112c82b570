/// Cuts a byte stream into JSON texts as QEMU's json-streamer does: a value is complete when its last bracket
/// closes, whatever came before or after it (`\r\n`, nothing, or the next object in the same read), and an object may
/// span reads and lines. Strings in either quote (QEMU accepts single quotes) hide brackets.
///
/// Work is linear in the bytes fed, and what one text may hold is bounded, so a peer that never closes a brace
/// costs at most `limit` bytes.
public struct JSONStreamSplitter: Sendable {
    /// One piece of the stream.
    public enum Piece: Sendable, Equatable {
        /// A complete top-level value's bytes, ready for the JSON parser.
        case text([UInt8])
        /// A value that grew past the byte or depth limit; its bytes were dropped up to the end of that value.
        case tooLarge
        /// A string broken by a control character (a line break, say), from its opening quote to that character:
        /// QEMU's lexer rejects it at once, as a stray token, and drops the value it was part of.
        case stray([UInt8])
    }

    /// QEMU's own bounds (json-streamer.c): 64 MiB a value, 1024 levels of nesting.
    public static let defaultLimit = 64 << 20
    public static let maxDepth = 1024

    public let limit: Int
    private var pending: [UInt8] = []
    private var depth = 0
    private var quote: UInt8 = 0
    private var escaped = false
    /// Where the open string starts in `pending`.
    private var stringStart = 0
    /// A keyword or number at the top level, which ends at the next delimiter rather than at a bracket.
    private var inScalar = false
    /// True while dropping the rest of a value that went over a limit.
    private var discarding = false

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

    /// Ends the stream: a top-level keyword or number still open completes; an open object is dropped, as QEMU
    /// drops it when the client goes away.
    public mutating func finish() -> [Piece] {
        var pieces: [Piece] = []
        if inScalar { emit(into: &pieces) }
        reset()
        return pieces
    }

    private mutating func reset() {
        pending.removeAll(keepingCapacity: true)
        depth = 0
        quote = 0
        escaped = false
        inScalar = false
        discarding = false
    }

    private mutating func emit(into pieces: inout [Piece]) {
        pieces.append(discarding ? .tooLarge : .text(pending))
        reset()
    }

    private mutating func keep(_ byte: UInt8, into pieces: inout [Piece]) {
        guard !discarding else { return }
        if pending.count >= limit {
            pending.removeAll()
            discarding = true
            return
        }
        pending.append(byte)
    }

    private mutating func step(_ byte: UInt8, into pieces: inout [Piece]) {
        if quote != 0 && byte < 0x20 {
            let stray = discarding ? [] : Array(pending[min(stringStart, pending.count)...]) + [byte]
            pieces.append(discarding ? .tooLarge : .stray(stray))
            reset()
            return
        }
        if quote != 0 {
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
        let isStructural = byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "[")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        if inScalar && (isSpace || isStructural) {
            emit(into: &pieces)
        }
        if depth == 0 && isSpace { return }
        keep(byte, into: &pieces)
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            quote = byte
            stringStart = max(0, pending.count - 1)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            if depth > JSONStreamSplitter.maxDepth && !discarding {
                pending.removeAll()
                discarding = true
            }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            // A closer with nothing open is a value of its own, for the parser to refuse.
            if depth > 0 { depth -= 1 }
            if depth == 0 { emit(into: &pieces) }
        default:
            if depth == 0 { inScalar = true }
        }
    }
}
