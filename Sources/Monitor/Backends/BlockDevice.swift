/// One drive as `info block` shows it (query-block's fields that HMP prints).
struct BlockDevice: Sendable, Equatable {
    /// The drive's id, `drive0`.
    var id: String
    /// The node QEMU names it by, `#block101`.
    var nodeName: String
    var path: String
    var format: String
    var readOnly: Bool
    var cacheMode = "writeback"
}
