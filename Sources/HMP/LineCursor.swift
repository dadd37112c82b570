/// A position in a typed line, read byte by byte as QEMU's C parser reads it: the end reads as NUL, and "space" and
/// "graph" mean what they mean in the C locale, so that every quirk that depends on them carries over.
struct LineCursor {
    let bytes: [UInt8]
    var index: Int

    /// A U+0000 in `text` is data, not an end: the only way one reaches QEMU's parser is QMP's `"\u0000"`, which
    /// QEMU holds in modified UTF-8 as `\xC0\x80`, so it ends no word and `help\0x` is an unknown command. Monitors
    /// that read C strings (a socket's or terminal's line) cut the line at a NUL byte before it gets here.
    init(_ text: String, at index: Int = 0) {
        var bytes = Array(text.utf8)
        if bytes.contains(0) {
            bytes = bytes.flatMap { $0 == 0 ? [0xC0, 0x80] : [$0] }
        }
        self.bytes = bytes
        self.index = index
    }

    init(bytes: [UInt8], at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var current: UInt8 { byte(at: index) }
    var atEnd: Bool { current == 0 }

    func byte(at i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }

    mutating func advance(_ n: Int = 1) { index = min(index + n, bytes.count) }

    mutating func skipSpaces() {
        while current.isCSpace { index += 1 }
    }

    func text(_ range: Range<Int>) -> String {
        let slice = bytes[max(0, range.lowerBound)..<min(bytes.count, range.upperBound)]
        guard slice.contains(0xC0) else { return String(decoding: slice, as: UTF8.self) }
        // Modified UTF-8's NUL back to U+0000, as QEMU's JSON writer turns it back into "\u0000".
        var plain: [UInt8] = []
        var i = slice.startIndex
        while i < slice.endIndex {
            if slice[i] == 0xC0, i + 1 < slice.endIndex, slice[i + 1] == 0x80 {
                plain.append(0)
                i += 2
            } else {
                plain.append(slice[i])
                i += 1
            }
        }
        return String(decoding: plain, as: UTF8.self)
    }

    var rest: String { text(index..<bytes.count) }
}

extension UInt8 {
    var isCSpace: Bool { self == 0x20 || (0x09...0x0D).contains(self) }
    var isCGraph: Bool { (0x21...0x7E).contains(self) }
    var isDigit: Bool { (0x30...0x39).contains(self) }

    /// The byte as QEMU prints it with `%c`.
    var printed: String { String(decoding: [self], as: UTF8.self) }
}
