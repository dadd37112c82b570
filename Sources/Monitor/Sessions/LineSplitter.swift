import Glibc

/// Splits a monitor's input into lines in linear time, whatever arrives: each byte is scanned once, lines are
/// consumed by index, and a line longer than `limit` is discarded up to its newline rather than kept growing.
/// Any byte may appear in a line; invalid UTF-8 becomes U+FFFD.
struct LineSplitter {
    /// The longest line read, in bytes without its newline. HMP lines are short; this only bounds the memory a
    /// client's input can take.
    static let limit = 65536
    static let tooLongMessage = "Error: line too long (the limit is \(limit) bytes); it was discarded"

    enum Line: Equatable {
        case text(String)
        /// A line longer than `limit`, now discarded.
        case tooLong
    }

    private var pending: [UInt8] = []
    /// Bytes before `consumed` have been returned as lines.
    private var consumed = 0
    /// Bytes from `consumed` to `scanned` hold no newline.
    private var scanned = 0
    /// The line being read was too long: its bytes are dropped until its newline comes.
    private var discarding = false

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        // What is left is at most one partial line of at most `limit` bytes, so this copy keeps the whole linear.
        if consumed > 0 {
            pending.removeSubrange(..<consumed)
            scanned -= consumed
            consumed = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// The next complete line, or nil until more bytes arrive.
    mutating func next() -> Line? {
        let found: Int? = pending.withUnsafeBytes { raw in
            guard scanned < raw.count, let hit = memchr(raw.baseAddress! + scanned, 0x0A, raw.count - scanned) else {
                return nil
            }
            return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
        }
        guard let newline = found else {
            scanned = pending.count
            if discarding || pending.count - consumed > LineSplitter.limit {
                discarding = true
                pending.removeAll(keepingCapacity: true)
                consumed = 0
                scanned = 0
            }
            return nil
        }
        let start = consumed
        consumed = newline + 1
        scanned = consumed
        var end = newline
        if end > start && pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        if discarding || end - start > LineSplitter.limit {
            discarding = false
            return .tooLong
        }
        return .text(String(decoding: pending[start..<end], as: UTF8.self))
    }
}
