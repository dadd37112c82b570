import QObject

/// How fast the built-in workload dirties the guest: bytes of RAM pages and of disk blocks written per second.
public struct WorkloadRates: Sendable, Equatable {
    public var ramBytesPerSecond: UInt64
    public var diskBytesPerSecond: UInt64
    /// `region=SIZE`: RAM writes land in the first SIZE bytes of RAM only (all of RAM when nil), so a huge guest
    /// can have a small working set.
    public var ramRegion: UInt64?

    public init(ramBytesPerSecond: UInt64, diskBytesPerSecond: UInt64, ramRegion: UInt64? = nil) {
        self.ramBytesPerSecond = ramBytesPerSecond
        self.diskBytesPerSecond = diskBytesPerSecond
        self.ramRegion = ramRegion
    }

    /// Parses `ram=64M,disk=4M[,region=16M]`. Sizes take K, M, G or T suffixes (binary multiples); a number without a suffix
    /// counts bytes. A key left out means 0: that part of the guest stays clean.
    public static func parse(_ text: String) throws(MachineError) -> WorkloadRates {
        var rates = WorkloadRates(ramBytesPerSecond: 0, diskBytesPerSecond: 0)
        for option in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw .invalidWorkload(text: text, reason: "'\(option)' has no value")
            }
            let value: UInt64
            do {
                value = try parseSize(String(parts[1]), defaultUnit: 1)
            } catch {
                throw .invalidWorkload(text: text, reason: "'\(parts[1])' is not a size")
            }
            switch parts[0] {
            case "ram": rates.ramBytesPerSecond = value
            case "disk": rates.diskBytesPerSecond = value
            case "region":
                guard value >= UInt64(GuestRAM.pageSize) else {
                    throw .invalidWorkload(text: text, reason: "region '\(parts[1])' is smaller than one 4 KiB page")
                }
                rates.ramRegion = value
            default: throw .invalidWorkload(text: text, reason: "unknown key '\(parts[0])'")
            }
        }
        return rates
    }
}
