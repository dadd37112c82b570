/// A dictionary of named values that keeps insertion order, so that what it prints and sends reads in the order
/// the arguments were given (QEMU's QDict hashes; order is ours to choose, and this one is stable).
///
/// Lookup and insertion go through a hash index, so building a dict of n keys (a hostile QMP object, say) costs
/// O(n), not O(n²); only removal, which no parser does, is linear.
public struct QDict: Sendable {
    public private(set) var entries: [(key: String, value: QValue)] = []
    /// Where each key sits in `entries`.
    private var index: [String: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, QValue)]) {
        entries.reserveCapacity(pairs.count)
        index.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    /// Reading an absent key gives nil; assigning nil removes the key.
    public subscript(key: String) -> QValue? {
        get { index[key].map { entries[$0].value } }
        set {
            switch (index[key], newValue) {
            case (let i?, let v?): entries[i].value = v
            case (let i?, nil):
                entries.remove(at: i)
                index[key] = nil
                for j in i..<entries.count { index[entries[j].key] = j }
            case (nil, let v?):
                index[key] = entries.count
                entries.append((key, v))
            case (nil, nil): break
            }
        }
    }

    /// Adds `value` under `key` unless the key is already there; false (and nothing changed) when it is, in one
    /// lookup, for parsers that must refuse duplicates.
    public mutating func insertNew(_ key: String, _ value: QValue) -> Bool {
        guard index[key] == nil else { return false }
        index[key] = entries.count
        entries.append((key, value))
        return true
    }

    public func contains(_ key: String) -> Bool { index[key] != nil }

    public func string(_ key: String) -> String? { self[key]?.string }
    public func int(_ key: String) -> Int64? { self[key]?.int }
    public func uint(_ key: String) -> UInt64? { self[key]?.uint }
    public func bool(_ key: String) -> Bool? { self[key]?.bool }
    public func double(_ key: String) -> Double? { self[key]?.double }
}

extension QDict: Hashable {
    /// Equality ignores order, as two QDicts with the same members are the same arguments.
    public static func == (lhs: QDict, rhs: QDict) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }

    /// Order-independent, as `==` is: each member hashed alone, the results combined commutatively.
    public func hash(into hasher: inout Hasher) {
        var sum = 0
        for entry in entries {
            var member = Hasher()
            member.combine(entry.key)
            member.combine(entry.value)
            sum &+= member.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}

extension QDict: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, QValue)...) { self.init(elements) }
}

extension QDict: Sequence {
    public func makeIterator() -> IndexingIterator<[(key: String, value: QValue)]> { entries.makeIterator() }
}
