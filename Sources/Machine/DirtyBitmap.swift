import Synchronization

/// One bit per page (RAM) or chunk (disk), set by writers and drained by the migration engine, as in the seed's
/// dirty log and migration_bitmap_sync. Words are `Atomic<UInt64>` so that the workload marking pages and the
/// migration thread draining them never wait for each other or take the machine lock.
///
/// A running count of the set bits (`dirtyCount`) is kept beside them, so that a migration's pending bytes are
/// read without a scan: each 0→1 transition is counted by the writer whose atomic OR made it, each 1→0 by the
/// exchange or clear that took it. Guest RAM's bitmaps do without (`countsBits: false`): the vCPU's mark stays one
/// atomic per page, and the RAM handler counts the bits it takes itself.
///
/// `@unchecked Sendable`: the only state is a fixed buffer of atomics allocated once in init and freed in deinit,
/// and the atomic count; every access after init goes through atomic operations.
public final class DirtyBitmap: @unchecked Sendable {
    public let bitCount: Int
    public let wordCount: Int
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let countsBits: Bool
    private let setBits = Atomic<Int>(0)

    public init(bitCount: Int, countsBits: Bool = true) {
        precondition(bitCount >= 0)
        self.bitCount = bitCount
        self.countsBits = countsBits
        self.wordCount = (bitCount + 63) / 64
        words = .allocate(capacity: max(wordCount, 1))
        for i in 0..<max(wordCount, 1) { (words + i).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: max(wordCount, 1))
        words.deallocate()
    }

    public func mark(_ index: Int) {
        precondition(index >= 0 && index < bitCount, "dirty bit \(index) outside 0..<\(bitCount)")
        let mask: UInt64 = 1 << UInt64(index & 63)
        let old = words[index >> 6].bitwiseOr(mask, ordering: .releasing).oldValue
        if countsBits, old & mask == 0 { setBits.wrappingAdd(1, ordering: .relaxed) }
    }

    @inline(__always)
    private func taken(_ bits: UInt64) {
        if countsBits, bits != 0 { setBits.wrappingSubtract(bits.nonzeroBitCount, ordering: .relaxed) }
    }

    /// Marks every bit in `range`, one atomic operation per word touched. Marks release, so that whoever takes a
    /// bit (acquiring) also sees the write it stands for.
    public func mark(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        precondition(range.lowerBound >= 0 && range.upperBound <= bitCount)
        var i = range.lowerBound
        var added = 0
        while i < range.upperBound {
            let bit = i & 63
            let n = min(64 - bit, range.upperBound - i)
            let mask: UInt64 = n == 64 ? ~0 : ((1 << UInt64(n)) - 1) << UInt64(bit)
            let old = words[i >> 6].bitwiseOr(mask, ordering: .releasing).oldValue
            added += (mask & ~old).nonzeroBitCount
            i += n
        }
        if countsBits, added != 0 { setBits.wrappingAdd(added, ordering: .relaxed) }
    }

    public func isDirty(_ index: Int) -> Bool {
        precondition(index >= 0 && index < bitCount)
        return words[index >> 6].load(ordering: .relaxed) & (1 << UInt64(index & 63)) != 0
    }

    /// Word `word` (bits 64*word ..< 64*word+64), left as it is.
    public func word(_ word: Int) -> UInt64 {
        precondition(word >= 0 && word < wordCount)
        return words[word].load(ordering: .acquiring)
    }

    /// Clears one bit and says whether it was set.
    public func testAndClear(_ index: Int) -> Bool {
        precondition(index >= 0 && index < bitCount)
        let mask: UInt64 = 1 << UInt64(index & 63)
        let wasSet = words[index >> 6].bitwiseAnd(~mask, ordering: .acquiring).oldValue & mask != 0
        if wasSet { taken(mask) }
        return wasSet
    }

    /// Clears the bits of `mask` in word `word`, one atomic operation, if any of them is set.
    public func clear(_ mask: UInt64, inWord word: Int) {
        precondition(word >= 0 && word < wordCount)
        guard words[word].load(ordering: .relaxed) & mask != 0 else { return }
        taken(words[word].bitwiseAnd(~mask, ordering: .acquiring).oldValue & mask)
    }

    /// The seed's migration_bitmap_sync: moves every set bit into `target` (ORed, so bits the engine has not
    /// sent yet stay set) and clears them here. `target` must hold `wordCount` words. Returns how many bits were
    /// newly set in `target`.
    @discardableResult
    public func drain(into target: inout [UInt64]) -> Int {
        precondition(target.count == wordCount, "target holds \(target.count) words, needs \(wordCount)")
        return target.withUnsafeMutableBufferPointer { drain(into: $0) }
    }

    /// `drain(into:)` into caller-owned words. Clean words are only loaded, never exchanged: a pass costs a read
    /// per word and an atomic exchange per word that holds a set bit, so it is proportional to what is dirty.
    @discardableResult
    public func drain(into target: UnsafeMutableBufferPointer<UInt64>) -> Int {
        precondition(target.count == wordCount, "target holds \(target.count) words, needs \(wordCount)")
        guard let out = target.baseAddress else { return 0 }
        var added = 0
        for w in 0..<wordCount where words[w].load(ordering: .relaxed) != 0 {
            let bits = words[w].exchange(0, ordering: .acquiring)
            taken(bits)
            added += (bits & ~out[w]).nonzeroBitCount
            out[w] |= bits
        }
        return added
    }

    /// Calls `body` for each set bit in ascending order, clearing it first; clean words are skipped with a load.
    public func forEachDirtyClearing(_ body: (Int) throws -> Void) rethrows {
        for w in 0..<wordCount where words[w].load(ordering: .relaxed) != 0 {
            var bits = words[w].exchange(0, ordering: .acquiring)
            taken(bits)
            while bits != 0 {
                let bit = bits.trailingZeroBitCount
                bits &= bits - 1
                try body(w << 6 | bit)
            }
        }
    }

    /// How many bits are set now; a snapshot while writers run. O(1) from the running count (a scan for a
    /// bitmap made with `countsBits: false`).
    public var dirtyCount: Int {
        if countsBits { return max(0, setBits.load(ordering: .relaxed)) }
        var count = 0
        for w in 0..<wordCount { count += words[w].load(ordering: .relaxed).nonzeroBitCount }
        return count
    }

    public func clearAll() {
        for w in 0..<wordCount where words[w].load(ordering: .relaxed) != 0 {
            taken(words[w].exchange(0, ordering: .acquiring))
        }
    }

    /// Sets every bit, as the first migration pass treats all of RAM as dirty.
    public func setAll() {
        mark(0..<bitCount)
    }
}
