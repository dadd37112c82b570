public import Testing

/// A text as a test argument: shown escaped (a NUL or an escape would run the log's lines together or drive the
/// terminal) and with long runs shortened, so that the log stays one readable line per test case.
public struct ArgumentText: Sendable, Hashable, CustomTestStringConvertible, ExpressibleByStringLiteral,
    ExpressibleByStringInterpolation
{
    public let value: String
    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }
    public init(stringInterpolation: DefaultStringInterpolation) { value = String(stringInterpolation: stringInterpolation) }

    public var testDescription: String {
        let shown = value.count > 40 ? "\(value.prefix(20))…(\(value.count) characters)…\(value.suffix(6))" : value
        return shown.debugDescription
    }
}
