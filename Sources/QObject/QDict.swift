/// A dictionary of named values that keeps insertion order, so that what it prints and sends reads in the order
/// the arguments were given (QEMU's QDict hashes; order is ours to choose, and this one is stable).
public struct QDict: Sendable, Hashable {
    public private(set) var entries: [(key: String, value: QValue)] = []

    public init() {}

    public init(_ pairs: [(String, QValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    /// Reading an absent key gives nil; assigning nil removes the key.
    public subscript(key: String) -> QValue? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            let index = entries.firstIndex(where: { $0.key == key })
            switch (index, newValue) {
            case (let i?, let v?): entries[i].value = v
            case (let i?, nil): entries.remove(at: i)
            case (nil, let v?): entries.append((key, v))
            case (nil, nil): break
            }
        }
    }

    public func contains(_ key: String) -> Bool { entries.contains(where: { $0.key == key }) }

    public func string(_ key: String) -> String? { self[key]?.string }
    public func int(_ key: String) -> Int64? { self[key]?.int }
    public func uint(_ key: String) -> UInt64? { self[key]?.uint }
    public func bool(_ key: String) -> Bool? { self[key]?.bool }
    public func double(_ key: String) -> Double? { self[key]?.double }

    /// Equality ignores order, as two QDicts with the same members are the same arguments.
    public static func == (lhs: QDict, rhs: QDict) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) {
        for key in keys.sorted() {
            hasher.combine(key)
            hasher.combine(self[key])
        }
    }
}

extension QDict: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, QValue)...) { self.init(elements) }
}

extension QDict: Sequence {
    public func makeIterator() -> IndexingIterator<[(key: String, value: QValue)]> { entries.makeIterator() }
}
