import QObject
import Testing

/// strtoull as QEMU 7.2 reads numbers: its monitor's `p` (expressions, base 0) and migrate_set_parameter's integers
/// (the string visitor, base 0) both go through it. Each expectation is what QEMU 7.2 answered for the same text.
@Suite struct CNumbersTests {
    private func read(_ text: String, base: Int = 0) -> CNumbers.Unsigned {
        CNumbers.strtoull(Array(text.utf8), from: 0, base: base)
    }

    /// `p 010` printed 0x8, `p 0x1f` 0x1f, `p -1` 0xffffffffffffffff.
    @Test func baseZeroReadsOctalHexAndWrapsAMinus() {
        #expect(read("010").value == 8)
        #expect(read("0x1f").value == 0x1f)
        #expect(read("-1").value == .max)
        #expect(read("  +42").value == 42)
    }

    /// `migrate_set_parameter max-cpu-throttle 99999999999999999999` said `expects uint64`: the overflow is seen;
    /// `1x` said the same, because the number stops before the `x`.
    @Test func overflowAndWhereTheNumberStops() {
        let over = read("99999999999999999999", base: 10)
        #expect(over.overflow && over.value == .max && over.end == 20)
        #expect(read("1x").end == 1)
        #expect(read("0x").end == 1)
        #expect(read("x").end == 0)
        #expect(CNumbers.strtoull(Array("9".utf8), from: 5, base: 10).end == 5)
    }
}
