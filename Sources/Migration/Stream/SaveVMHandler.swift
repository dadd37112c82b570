/// One device in the stream: the seed's SaveStateEntry (idstr, instance, version) with its SaveVMHandlers.
/// Iterative handlers (ram, block) send START (`setup`), PARTs (`iterate`) and END (`complete`); the others
/// send one FULL section (`complete`). `load` reads one section's payload, whatever its type.
public protocol SaveVMHandler: AnyObject {
    var idstr: String { get }
    var instanceID: UInt32 { get }
    var versionID: UInt32 { get }
    var isIterative: Bool { get }
    /// The START payload.
    func setup(_ f: QEMUFileWriter) throws(MigrationError)
    /// Bytes still to send now (after the last dirty sync).
    var pendingBytes: UInt64 { get }
    /// One PART payload of about `budget` bytes; true when nothing is pending any more.
    func iterate(_ f: QEMUFileWriter, budget: Int) throws(MigrationError) -> Bool
    /// The END payload (iterative) or the FULL payload, with the guest stopped.
    func complete(_ f: QEMUFileWriter) throws(MigrationError)
    /// One incoming section payload of `version` (already checked to be at most `versionID`).
    func load(_ r: QEMUFileReader, version: UInt32, progress: (String) -> Void) throws(MigrationError)
}

extension SaveVMHandler {
    public var instanceID: UInt32 { 0 }
    public var isIterative: Bool { false }
    public func setup(_ f: QEMUFileWriter) throws(MigrationError) {}
    public var pendingBytes: UInt64 { 0 }
    public func iterate(_ f: QEMUFileWriter, budget: Int) throws(MigrationError) -> Bool { true }
}

/// Section and record type bytes (QEMU_VM_*).
enum SectionType {
    static let eof: UInt8 = 0x00
    static let start: UInt8 = 0x01
    static let part: UInt8 = 0x02
    static let end: UInt8 = 0x03
    static let full: UInt8 = 0x04
    static let subsection: UInt8 = 0x05
    static let vmDescription: UInt8 = 0x06
    static let configuration: UInt8 = 0x07
    static let command: UInt8 = 0x08
    static let footer: UInt8 = 0x7E
}

/// The COMMAND record's commands (enum qemu_vm_cmd; SWITCHOVER_START is QEMU 10's), with the argument length
/// QEMU requires of each (nil: variable).
enum MigrationCommand: UInt16 {
    case openReturnPath = 1, ping, postcopyAdvise, postcopyListen, postcopyRun, postcopyRAMDiscard, packaged,
        enableCOLO, postcopyResume, receivedBitmap, switchoverStart

    var name: String {
        switch self {
        case .openReturnPath: "OPEN_RETURN_PATH"
        case .ping: "PING"
        case .postcopyAdvise: "POSTCOPY_ADVISE"
        case .postcopyListen: "POSTCOPY_LISTEN"
        case .postcopyRun: "POSTCOPY_RUN"
        case .postcopyRAMDiscard: "POSTCOPY_RAM_DISCARD"
        case .packaged: "PACKAGED"
        case .enableCOLO: "ENABLE_COLO"
        case .postcopyResume: "POSTCOPY_RESUME"
        case .receivedBitmap: "RECV_BITMAP"
        case .switchoverStart: "SWITCHOVER_START"
        }
    }

    var length: UInt16? {
        switch self {
        case .openReturnPath, .postcopyListen, .postcopyRun, .enableCOLO, .postcopyResume, .switchoverStart: 0
        case .ping, .packaged: 4
        case .postcopyAdvise, .postcopyRAMDiscard, .receivedBitmap: nil
        }
    }
}

enum StreamHeader {
    static let magic: UInt32 = 0x5145_564D  // "QEVM"
    static let version: UInt32 = 3
    static let obsoleteVersion: UInt32 = 2
    static let machineType = "none"
}
