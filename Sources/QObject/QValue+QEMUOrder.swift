extension QValue {
    /// The value with every object's members in the order QEMU 7.2's QDict gives them back: QEMU hashes each key
    /// into one of 512 buckets (tdb_hash), puts it at the head of its bucket's list, and iterates bucket by bucket.
    /// That is why its replies read `micro, minor, major`; a value QEMU parsed and sent back (a request's `id`)
    /// comes back so ordered. The members are taken as inserted in their current order.
    public var inQEMUOrder: QValue {
        switch self {
        case .list(let items): .list(items.map(\.inQEMUOrder))
        case .dict(let dict): .dict(dict.inQEMUOrder)
        default: self
        }
    }
}

extension QDict {
    /// See `QValue.inQEMUOrder`.
    public var inQEMUOrder: QDict {
        var buckets: [Int: [(key: String, value: QValue)]] = [:]
        for entry in entries {
            buckets[Int(QDict.tdbHash(entry.key) % 512), default: []].insert((entry.key, entry.value.inQEMUOrder), at: 0)
        }
        var ordered = QDict()
        for bucket in buckets.keys.sorted() {
            for entry in buckets[bucket] ?? [] { ordered[entry.key] = entry.value }
        }
        return ordered
    }

    /// QEMU's qdict.c tdb_hash over the key's bytes, in 32-bit unsigned arithmetic.
    static func tdbHash(_ key: String) -> UInt32 {
        var value = 0x238F_13AF &* UInt32(truncatingIfNeeded: key.utf8.count)
        for (i, byte) in key.utf8.enumerated() {
            value = value &+ (UInt32(byte) << UInt32(i * 5 % 24))
        }
        return 1_103_515_243 &* value &+ 12345
    }
}
