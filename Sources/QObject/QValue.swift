/// One value of QEMU's QObject family: what a parsed HMP argument holds and what QMP carries as JSON.
public enum QValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    /// An unsigned value above `Int64.max`, which QEMU's QNum can hold and JSON can spell.
    case uint(UInt64)
    case double(Double)
    case string(String)
    case list([QValue])
    case dict(QDict)
}

extension QValue {
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value as a signed integer, when it is one and fits.
    public var int: Int64? {
        switch self {
        case .int(let i): return i
        case .uint(let u): return Int64(exactly: u)
        default: return nil
        }
    }

    /// The value as an unsigned integer, when it is a non-negative integer.
    public var uint: UInt64? {
        switch self {
        case .int(let i): return UInt64(exactly: i)
        case .uint(let u): return u
        default: return nil
        }
    }

    /// The value as a double; integers convert, as QEMU's qnum_get_double does.
    public var double: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        default: return nil
        }
    }

    public var dict: QDict? {
        if case .dict(let d) = self { return d }
        return nil
    }

    public var list: [QValue]? {
        if case .list(let l) = self { return l }
        return nil
    }
}

extension QValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: QValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, QValue)...) { self = .dict(QDict(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
