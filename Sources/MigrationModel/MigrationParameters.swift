/// QEMU 7.2's migration parameters with their defaults, as `info migrate_parameters` shows them and
/// `migrate_set_parameter` changes them. Times are in milliseconds, bandwidths in bytes per second.
public struct MigrationParameters: Sendable, Equatable {
    public enum MultiFDCompression: String, Sendable, CaseIterable {
        case none, zlib, zstd
    }

    public var announceInitial: UInt64 = 50
    public var announceMax: UInt64 = 550
    public var announceRounds: UInt64 = 5
    public var announceStep: UInt64 = 100
    public var compressLevel: UInt8 = 1
    public var compressThreads: UInt8 = 8
    public var compressWaitThread = true
    public var decompressThreads: UInt8 = 2
    public var throttleTriggerThreshold: UInt8 = 50
    public var cpuThrottleInitial: UInt8 = 20
    public var cpuThrottleIncrement: UInt8 = 10
    public var cpuThrottleTailslow = false
    public var maxCPUThrottle: UInt8 = 99
    public var tlsCreds = ""
    public var tlsHostname = ""
    public var maxBandwidth: UInt64 = 128 << 20
    public var downtimeLimit: UInt64 = 300
    public var xCheckpointDelay: UInt32 = 20000
    public var blockIncremental = false
    public var multifdChannels: UInt8 = 2
    public var multifdCompression: MultiFDCompression = .none
    public var xbzrleCacheSize: UInt64 = 64 << 20
    public var maxPostcopyBandwidth: UInt64 = 0
    public var tlsAuthz = ""
    /// nil until migrate-set-parameters sets it (an empty mapping is set too), as QEMU's has_block_bitmap_mapping.
    public var blockBitmapMapping: [BitmapNodeAlias]?

    public init() {}

    /// Every name `migrate_set_parameter` knows, in QEMU's MigrationParameter order (for completion). The last
    /// three are accepted but, as in QEMU 7.2's HMP, never change anything or show in `info migrate_parameters`.
    public static let names = [
        "announce-initial", "announce-max", "announce-rounds", "announce-step", "compress-level", "compress-threads",
        "decompress-threads", "compress-wait-thread", "throttle-trigger-threshold", "cpu-throttle-initial",
        "cpu-throttle-increment", "cpu-throttle-tailslow", "tls-creds", "tls-hostname", "tls-authz", "max-bandwidth",
        "downtime-limit", "x-checkpoint-delay", "block-incremental", "multifd-channels", "xbzrle-cache-size",
        "max-postcopy-bandwidth", "max-cpu-throttle", "multifd-compression", "multifd-zlib-level",
        "multifd-zstd-level", "block-bitmap-mapping",
    ]

    static let booleanNames: Set<String> = [
        "compress-wait-thread", "cpu-throttle-tailslow", "block-incremental",
    ]

    /// The values completion offers after a parameter name: on/off for booleans, the compression methods for
    /// multifd-compression, nothing for free-form values.
    public static func completionValues(for name: String) -> [String] {
        if booleanNames.contains(name) { return ["on", "off"] }
        if name == "multifd-compression" { return MultiFDCompression.allCases.map(\.rawValue) }
        return []
    }
}
