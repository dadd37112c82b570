/// A position in a typed line, read byte by byte as QEMU's C parser reads it: the end reads as NUL, and "space" and
/// "graph" mean what they mean in the C locale, so that every quirk that depends on them carries over.
struct LineCursor {
    let bytes: [UInt8]
    var index: Int

    init(_ text: String, at index: Int = 0) {
        self.bytes = Array(text.utf8)
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
        String(decoding: bytes[max(0, range.lowerBound)..<min(bytes.count, range.upperBound)], as: UTF8.self)
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
