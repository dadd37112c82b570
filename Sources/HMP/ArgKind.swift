/// The type letter of one argument in QEMU's args_type grammar (monitor/monitor-internal.h).
public enum ArgKind: Sendable, Equatable {
    /// `s`: one word, or a double-quoted string with `\n \r \\ \' \"` escapes.
    case string
    /// `S`: the rest of the line.
    case restOfLine
    /// `F`: a file name (completes file names).
    case filename
    /// `B`: a block device name (completes drive ids).
    case blockDevice
    /// `O`: NAME=VALUE,... options.
    case options
    /// `i`: an integer expression whose value must fit in 0...0xffffffff (so -1 is refused, as in QEMU).
    case int32
    /// `l`: a 64-bit integer expression, stored as `.int` of its bit pattern (`0xffffffffffffffff` is -1), as
    /// QEMU's qdict_put_int stores an int64_t.
    case long
    /// `M`: a non-negative integer, in MiB; stored in bytes.
    case megabytes
    /// `o`: a size with an optional K/M/G/T/P/E suffix; no suffix means MiB.
    case size
    /// `T`: a double, with an optional ms/us/ns suffix; stored in seconds.
    case seconds
    /// `b`: `on` or `off`.
    case bool
    /// `/`: a gdb-style `/Nfmt` format.
    case format
    /// `-x`: a boolean flag, stored as true when given.
    case flag(Character)
    /// `-xs`: a flag that takes a string value.
    case flagWithValue(Character)

    /// The kinds a letter names alone, by their letter.
    static let letters: [Character: ArgKind] = [
        "s": .string, "S": .restOfLine, "F": .filename, "B": .blockDevice, "O": .options, "i": .int32, "l": .long,
        "M": .megabytes, "o": .size, "T": .seconds, "b": .bool, "/": .format,
    ]
}

/// One `name:TYPE` entry of an args_type string.
public struct ArgSpec: Sendable, Equatable {
    public let name: String
    public let kind: ArgKind
    /// `?` suffix: may be left out.
    public let optional: Bool
    /// `.` suffix (i, l, M): the value is given only when typed after a `.`, as `i/b 0x60 .1`; `optional` is true too.
    public let dotted: Bool

    public init(name: String, kind: ArgKind, optional: Bool, dotted: Bool = false) {
        self.name = name
        self.kind = kind
        self.optional = optional || dotted
        self.dotted = dotted
    }

    public var isFlag: Bool {
        switch kind {
        case .flag, .flagWithValue: return true
        default: return false
        }
    }
}
