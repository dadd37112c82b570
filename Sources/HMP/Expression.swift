import QObject

/// QEMU's monitor expressions for `i`, `l` and `M` arguments: `+ -` below `* / %` below unary, with `& | ^` at one
/// level between sum and product, all left to right; numbers as strtoull base 0, `'c'` character constants.
/// Arithmetic wraps at 64 bits as QEMU's int64_t does. `$reg` always fails: there is no CPU to read registers from.
struct Expression {
    /// How many `(` and unary operators may be open at once. The evaluator recurses once per level, so without a
    /// bound a line of `((((…` or `----…` would overflow the stack; QEMU's own recursion has no such guard.
    static let nestingLimit = 1000

    private var cursor: LineCursor
    private var depth = 0

    /// Reads one expression at the cursor and leaves the cursor after it (and after any white space).
    static func evaluate(_ cursor: inout LineCursor) throws(ArgumentFailure) -> Int64 {
        var expression = Expression(cursor: cursor)
        expression.cursor.skipSpaces()
        defer { cursor = expression.cursor }
        return try expression.sum()
    }

    private init(cursor: LineCursor) { self.cursor = cursor }

    /// Moves past the operator and the white space after it.
    private mutating func next() {
        guard !cursor.atEnd else { return }
        cursor.advance()
        cursor.skipSpaces()
    }

    private mutating func sum() throws(ArgumentFailure) -> Int64 {
        var value = try logic()
        while cursor.current == UInt8(ascii: "+") || cursor.current == UInt8(ascii: "-") {
            let op = cursor.current
            next()
            let rhs = try logic()
            value = op == UInt8(ascii: "+") ? value &+ rhs : value &- rhs
        }
        return value
    }

    private mutating func logic() throws(ArgumentFailure) -> Int64 {
        var value = try product()
        while [UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "^")].contains(cursor.current) {
            let op = cursor.current
            next()
            let rhs = try product()
            switch op {
            case UInt8(ascii: "&"): value &= rhs
            case UInt8(ascii: "|"): value |= rhs
            default: value ^= rhs
            }
        }
        return value
    }

    private mutating func product() throws(ArgumentFailure) -> Int64 {
        var value = try unary()
        while [UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "%")].contains(cursor.current) {
            let op = cursor.current
            next()
            let rhs = try unary()
            switch op {
            case UInt8(ascii: "*"): value = value &* rhs
            default:
                guard rhs != 0 else { throw ArgumentFailure(message: "division by zero") }
                // INT64_MIN / -1 traps in C and in Swift alike; wrapping is the kinder reading.
                value = op == UInt8(ascii: "/")
                    ? value.dividedReportingOverflow(by: rhs).partialValue
                    : value.remainderReportingOverflow(dividingBy: rhs).partialValue
            }
        }
        return value
    }

    /// Opens one level of nesting; the caller closes it with `depth -= 1` when the level is read.
    private mutating func enter() throws(ArgumentFailure) {
        guard depth < Self.nestingLimit else {
            throw ArgumentFailure(message: "expression nested too deeply (the limit is \(Self.nestingLimit) levels)")
        }
        depth += 1
    }

    private mutating func unary() throws(ArgumentFailure) -> Int64 {
        switch cursor.current {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "~"):
            let op = cursor.current
            try enter()
            defer { depth -= 1 }
            next()
            let operand = try unary()
            switch op {
            case UInt8(ascii: "-"): return 0 &- operand
            case UInt8(ascii: "~"): return ~operand
            default: return operand
            }
        case UInt8(ascii: "("):
            try enter()
            defer { depth -= 1 }
            next()
            let value = try sum()
            guard cursor.current == UInt8(ascii: ")") else { throw ArgumentFailure(message: "')' expected") }
            next()
            return value
        case UInt8(ascii: "'"):
            cursor.advance()
            guard !cursor.atEnd else { throw ArgumentFailure(message: "character constant expected") }
            // C's char is signed here: bytes above 0x7f read as negative.
            let value = Int64(Int8(bitPattern: cursor.current))
            cursor.advance()
            guard cursor.current == UInt8(ascii: "'") else {
                throw ArgumentFailure(message: "missing terminating ' character")
            }
            next()
            return value
        case UInt8(ascii: "$"):
            throw ArgumentFailure(message: "unknown register")
        case 0:
            throw ArgumentFailure(message: "unexpected end of expression")
        default:
            let number = CNumbers.strtoull(cursor.bytes, from: cursor.index, base: 0)
            if number.overflow { throw ArgumentFailure(message: "number too large") }
            guard number.end > cursor.index else {
                throw ArgumentFailure(message: "invalid char '\(cursor.current.printed)' in expression")
            }
            cursor.index = number.end
            cursor.skipSpaces()
            return Int64(bitPattern: number.value)
        }
    }
}
