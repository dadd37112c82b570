import HMP
import Testing

/// `print` evaluates an `l` expression, so these read what QEMU 7.2 prints for `p EXPR`.
@Suite struct ExpressionTests {
    static let values: [(String, Int64)] = [
        ("1+2*3", 7), ("(1+2)*3", 9), ("0x10", 16), ("010", 8), ("0", 0), ("1|2^3&4", 0), ("10 - 3 - 2", 5),
        ("2*3%4", 2), ("~0", -1), ("-1", -1), ("- -5", 5), ("+7", 7), ("'a'", 97), ("( 1 + 2 ) * 3", 9),
        ("7/2", 3), ("-7/2", -3), ("-7%3", -1), ("0xffffffffffffffff + 1", 0), ("6&3", 2), ("4|1", 5), ("6^3", 5),
    ]

    @Test(arguments: values)
    func evaluates(_ expression: String, _ value: Int64) throws {
        #expect(try TestTable.args("p \(expression)").int("val") == value)
    }

    static let failures: [(String, String)] = [
        ("7/0", "division by zero"), ("7%0", "division by zero"), ("'ab'", "missing terminating ' character"),
        ("'", "character constant expected"), ("$pc", "unknown register"), ("", "unexpected end of expression"),
        ("1 +", "unexpected end of expression"), ("99999999999999999999", "number too large"), ("(1", "')' expected"),
        (")", "invalid char ')' in expression"), ("a", "invalid char 'a' in expression"),
        ("1a", "print|p: extraneous characters at the end of line"),
        ("08", "print|p: extraneous characters at the end of line"),
        ("0x", "print|p: extraneous characters at the end of line"),
        ("1+2 3", "print|p: extraneous characters at the end of line"),
    ]

    @Test(arguments: failures)
    func fails(_ expression: String, _ message: String) {
        #expect(TestTable.failure("p \(expression)")?.lines == [message, "Try \"help p\" for more information"])
    }
}
