/// One drive as `info block` shows it (query-block's fields that HMP prints).
public struct BlockDevice: Sendable, Equatable {
    /// The drive's id, `drive0`.
    public var id: String
    /// The node QEMU names it by, `#block101`.
    public var nodeName: String
    public var path: String
    public var format: String
    public var readOnly: Bool
    public var cacheMode = "writeback"
    /// The image file as it is now, measured by whoever lists the drive (encoding does no I/O): its length, and
    /// the bytes it occupies on the host; 0 when it cannot be measured.
    public var virtualSize: Int64 = 0
    public var actualSize: Int64 = 0

    public init(id: String, nodeName: String, path: String, format: String, readOnly: Bool) {
        self.id = id
        self.nodeName = nodeName
        self.path = path
        self.format = format
        self.readOnly = readOnly
    }
}
