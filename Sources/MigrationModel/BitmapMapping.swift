/// QEMU 7.2's block-bitmap-mapping: which dirty bitmaps of which block node go under which aliases. hmp's drives
/// carry no dirty bitmaps, so a mapping is kept and shown, as QEMU keeps it, and maps nothing.
public struct BitmapNodeAlias: Sendable, Equatable {
    public var nodeName: String
    public var alias: String
    public var bitmaps: [BitmapAlias]

    public init(nodeName: String, alias: String, bitmaps: [BitmapAlias]) {
        self.nodeName = nodeName
        self.alias = alias
        self.bitmaps = bitmaps
    }
}

/// One bitmap of a node under its alias; `transform` present (maybe empty) or absent, as it was given.
public struct BitmapAlias: Sendable, Equatable {
    public struct Transform: Sendable, Equatable {
        public var persistent: Bool?
        public init(persistent: Bool? = nil) { self.persistent = persistent }
    }

    public var name: String
    public var alias: String
    public var transform: Transform?

    public init(name: String, alias: String, transform: Transform? = nil) {
        self.name = name
        self.alias = alias
        self.transform = transform
    }
}
