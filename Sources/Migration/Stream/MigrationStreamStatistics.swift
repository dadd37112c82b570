import Synchronization

/// What `info migrate` shows about the stream, written by the migration thread and read by the monitor: atomics, so
/// neither side waits.
public final class MigrationStreamStatistics: Sendable {
    let ramTransferred = Atomic<UInt64>(0)
    let duplicate = Atomic<UInt64>(0)
    let normal = Atomic<UInt64>(0)
    let normalByteCount = Atomic<UInt64>(0)
    let dirtySyncs = Atomic<UInt64>(0)
    let diskTransferred = Atomic<UInt64>(0)
    let diskTotal = Atomic<UInt64>(0)
    let diskRemaining = Atomic<UInt64>(0)
    let blockProgress = Atomic<UInt64>(0)

    public init() {}

    /// Bytes of ram sections sent (headers, names and pages).
    public var ramTransferredBytes: UInt64 { ramTransferred.load(ordering: .relaxed) }
    /// Pages sent as ZERO records (`duplicate`).
    public var duplicatePages: UInt64 { duplicate.load(ordering: .relaxed) }
    /// Pages sent as PAGE records (`normal`).
    public var normalPages: UInt64 { normal.load(ordering: .relaxed) }
    public var normalBytes: UInt64 { normalByteCount.load(ordering: .relaxed) }
    public var dirtySyncCount: UInt64 { dirtySyncs.load(ordering: .relaxed) }
    /// Bytes of block sections sent.
    public var diskTransferredBytes: UInt64 { diskTransferred.load(ordering: .relaxed) }
    public var diskTotalBytes: UInt64 { diskTotal.load(ordering: .relaxed) }
    public var diskRemainingBytes: UInt64 { diskRemaining.load(ordering: .relaxed) }
    /// The last PROGRESS percent sent.
    public var blockProgressPercent: UInt64 { blockProgress.load(ordering: .relaxed) }
}
