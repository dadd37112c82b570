/// QEMU 7.2's migration parameters, as `info migrate_parameters` shows them and `migrate_set_parameter` changes
/// them. Times are in milliseconds, bandwidths in bytes per second. Each member starts at its row's default
/// (MigrationParameter.table, where every parameter is described): the zeros here only let `init` write it.
public struct MigrationParameters: Sendable, Equatable {
    public enum MultiFDCompression: String, Sendable, CaseIterable {
        case none, zlib, zstd
    }

    public var announceInitial: UInt64 = 0, announceMax: UInt64 = 0, announceRounds: UInt64 = 0
    public var announceStep: UInt64 = 0, maxBandwidth: UInt64 = 0, maxPostcopyBandwidth: UInt64 = 0
    public var downtimeLimit: UInt64 = 0, xbzrleCacheSize: UInt64 = 0
    public var compressLevel: UInt8 = 0, compressThreads: UInt8 = 0, decompressThreads: UInt8 = 0
    public var throttleTriggerThreshold: UInt8 = 0, cpuThrottleInitial: UInt8 = 0, cpuThrottleIncrement: UInt8 = 0
    public var maxCPUThrottle: UInt8 = 0, multifdChannels: UInt8 = 0
    public var compressWaitThread = false, cpuThrottleTailslow = false, blockIncremental = false
    public var tlsCreds = "", tlsHostname = "", tlsAuthz = ""
    public var xCheckpointDelay: UInt32 = 0
    public var multifdCompression: MultiFDCompression = .none
    /// nil until migrate-set-parameters sets it (an empty mapping is set too), as QEMU's has_block_bitmap_mapping.
    public var blockBitmapMapping: [BitmapNodeAlias]?

    /// QEMU's defaults.
    public init() {
        for row in MigrationParameter.table {
            if let value = row.defaultValue { try? row.set(value, into: &self) { _ in [] } }
        }
    }

    /// Every name `migrate_set_parameter` knows (for completion). The multifd levels are accepted but, as in QEMU
    /// 7.2's HMP, never change anything or show in `info migrate_parameters`.
    public static let names = MigrationParameter.table.map(\.name)

    /// The values completion offers after a parameter name: on/off for booleans, the compression methods for
    /// multifd-compression, nothing for free-form values.
    public static func completionValues(for name: String) -> [String] {
        MigrationParameter.named(name)?.completionValues ?? []
    }
}
