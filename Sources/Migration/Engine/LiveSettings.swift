public import MigrationModel
import Synchronization

/// The parameters a running migration reads on every window, so that `migrate_set_parameter max-bandwidth`,
/// `downtime-limit` and the cpu-throttle ones take effect at once, as in QEMU.
public final class LiveSettings: Sendable {
    private let bandwidth: Atomic<UInt64>
    private let downtime: Atomic<UInt64>
    private let throttleParameters: Mutex<AutoConverge.Parameters>

    public init(_ parameters: MigrationParameters) {
        bandwidth = Atomic(parameters.maxBandwidth)
        downtime = Atomic(parameters.downtimeLimit)
        throttleParameters = Mutex(AutoConverge.Parameters(parameters))
    }

    /// Takes the values a running migration reads from a new set of parameters.
    public func update(from parameters: MigrationParameters) {
        maxBandwidth = parameters.maxBandwidth
        downtimeLimit = parameters.downtimeLimit
        throttle = AutoConverge.Parameters(parameters)
    }

    /// What auto-converge reads at each sync period.
    public var throttle: AutoConverge.Parameters {
        get { throttleParameters.withLock { $0 } }
        set { throttleParameters.withLock { $0 = newValue } }
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
