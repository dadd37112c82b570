import QObject

/// The last `/fmt` given to `x`, `xp`, `print` and friends: QEMU remembers the format letter and unit size between
/// commands, so a bare `x addr` repeats the previous one. The caller keeps this between parses.
public struct MemoryFormat: Sendable, Equatable {
    /// `x`, `d`, `u`, `o`, `i` or `c`, as a byte (QEMU stores the character code).
    public var format: UInt8 = UInt8(ascii: "x")
    /// Unit size in bytes: 1, 2, 4 or 8.
    public var size: Int = 4

    public init() {}

    /// Reads an optional `/[count][fmt][size]` at the cursor into `count`, `format` and `size`, as QEMU does.
    mutating func read(_ cursor: inout LineCursor, into arguments: inout QDict) throws(ArgumentFailure) {
        cursor.skipSpaces()
        var count: Int64 = 1
        var format = self.format
        var size: Int? = nil
        if cursor.current == UInt8(ascii: "/") {
            cursor.advance()
            if cursor.current.isDigit {
                count = 0
                while cursor.current.isDigit {
                    count = count &* 10 &+ Int64(cursor.current - UInt8(ascii: "0"))
                    cursor.advance()
                }
            }
            var chosenFormat: UInt8? = nil
            scan: while true {
                switch cursor.current {
                case UInt8(ascii: "o"), UInt8(ascii: "d"), UInt8(ascii: "u"), UInt8(ascii: "x"), UInt8(ascii: "i"),
                    UInt8(ascii: "c"):
                    chosenFormat = cursor.current
                case UInt8(ascii: "b"): size = 1
                case UInt8(ascii: "h"): size = 2
                case UInt8(ascii: "w"): size = 4
                case UInt8(ascii: "g"), UInt8(ascii: "L"): size = 8
                default: break scan
                }
                cursor.advance()
            }
            if !cursor.atEnd && !cursor.current.isCSpace {
                throw ArgumentFailure(message: "invalid char in format: '\(cursor.current.printed)'")
            }
            format = chosenFormat ?? self.format
            if format != UInt8(ascii: "i") {
                self.size = size ?? self.size
                size = self.size
            }
            self.format = format
        } else if format != UInt8(ascii: "i") {
            size = self.size
        }
        // For `i` (disassembly) no size means -1, "whatever the instruction takes".
        arguments["count"] = .int(count)
        arguments["format"] = .int(Int64(format))
        arguments["size"] = .int(Int64(size ?? -1))
    }
}
