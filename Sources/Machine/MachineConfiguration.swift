import QObject

/// Everything the command line says about the machine, checked and opened by `Machine.init`.
public struct MachineConfiguration: Sendable, Equatable {
    /// Guest RAM in bytes; `Machine` rounds it up to whole 4 KiB pages.
    public var ramSize: UInt64
    /// A file whose content becomes the initial RAM (mapped privately, never written back).
    public var memPath: String?
    /// `-mem-prealloc`: every page of RAM allocated and touched before the monitor starts.
    public var prealloc: Bool
    public var drives: [DriveConfiguration]
    /// `-S`: start in prelaunch and wait for `cont`.
    public var startPaused: Bool
    public var name: String?
    public var workload: WorkloadRates?
    /// `-incoming URI`, kept for the migration engine; the machine only starts in `inmigrate`.
    public var incoming: String?

    public init(
        ramSize: UInt64 = 128 << 20, memPath: String? = nil, prealloc: Bool = false, drives: [DriveConfiguration] = [],
        startPaused: Bool = false, name: String? = nil, workload: WorkloadRates? = nil, incoming: String? = nil
    ) {
        self.ramSize = ramSize
        self.memPath = memPath
        self.prealloc = prealloc
        self.drives = drives
        self.startPaused = startPaused
        self.name = name
        self.workload = workload
        self.incoming = incoming
    }

    /// QEMU's `-m` value: MiB when there is no suffix, K/M/G/T suffixes otherwise; zero is refused.
    public static func parseRAMSize(_ text: String) throws(MachineError) -> UInt64 {
        let size: UInt64
        do {
            size = try parseSize(text, defaultUnit: 1 << 20)
        } catch .outOfRange {
            throw .ramSizeOutOfRange(text: text)
        } catch {
            throw .invalidRAMSize(text: text)
        }
        guard size > 0 else { throw .invalidRAMSize(text: text) }
        guard size <= UInt64.max - 4095 else { throw .ramSizeOutOfRange(text: text) }
        return size
    }
}
