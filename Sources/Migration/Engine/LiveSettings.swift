import Synchronization

/// The parameters a running migration reads on every window, so that `migrate_set_parameter max-bandwidth` and
/// `downtime-limit` take effect at once, as in QEMU.
public final class LiveSettings: Sendable {
    private let bandwidth: Atomic<UInt64>
    private let downtime: Atomic<UInt64>

    public init(maxBandwidth: UInt64, downtimeLimit: UInt64) {
        bandwidth = Atomic(maxBandwidth)
        downtime = Atomic(downtimeLimit)
    }

    /// Bytes per second.
    public var maxBandwidth: UInt64 {
        get { bandwidth.load(ordering: .relaxed) }
        set { bandwidth.store(newValue, ordering: .relaxed) }
    }

    /// Milliseconds.
    public var downtimeLimit: UInt64 {
        get { downtime.load(ordering: .relaxed) }
        set { downtime.store(newValue, ordering: .relaxed) }
    }
}
