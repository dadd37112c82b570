import Glibc
import Platform

/// Everything that can go wrong while building or driving the machine. Each message says what went wrong and what
/// to do about it, and is printed as is (the monitor adds its own prefix where QEMU has one).
public enum MachineError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidRAMSize(text: String)
    case ramSizeOutOfRange(text: String)
    case invalidWorkload(text: String, reason: String)
    case driveOptionWithoutValue(option: String)
    case unknownDriveOption(key: String)
    case invalidDriveOptionValue(key: String, value: String, expected: String)
    case missingDriveFile(text: String)
    case unsupportedDriveFormat(format: String)
    case duplicateDriveID(id: String)
    case cannotOpenDrive(path: String, errno: Int32)
    case cannotOpenMemPath(path: String, errno: Int32)
    case memPathTooSmall(path: String, fileSize: UInt64, ramSize: UInt64)
    case cannotMapRAM(size: UInt64, errno: Int32)
    case ramAccessOutOfRange(address: UInt64, size: UInt64, ramSize: UInt64)
    case driveAccessOutOfRange(id: String, offset: UInt64, size: UInt64, driveSize: UInt64)
    case driveReadOnly(id: String)
    case driveIOFailed(id: String, operation: String, errno: Int32)
    case cannotWriteFile(path: String, errno: Int32)
    /// pmemsave onto a FIFO, a device, a socket: hmp writes guest memory only into regular files.
    case notARegularFile(path: String, kind: String)
    /// pmemsave onto a file another user left in a shared sticky directory such as /tmp.
    case plantedFile(path: String, owner: UInt32)
    case cannotContinue(reason: String)

    public var description: String {
        switch self {
        case .invalidRAMSize(let text):
            return "invalid RAM size '\(text)': give a number of MiB, or a number with a K, M, G or T suffix (e.g. -m 512M)"
        case .ramSizeOutOfRange(let text):
            return "RAM size '\(text)' is out of range: give a size above 0 and below 2^64 bytes"
        case .invalidWorkload(let text, let reason):
            return "invalid workload '\(text)': \(reason); write it as ram=SIZE,disk=SIZE[,region=SIZE] (e.g. ram=64M,disk=4M)"
        case .driveOptionWithoutValue(let option):
            return "drive option '\(option)' has no value: write it as key=value (e.g. file=disk.img)"
        case .unknownDriveOption(let key):
            return "drive option '\(key)' is not supported: use file=, id=, format=raw and readonly=on|off"
        case .invalidDriveOptionValue(let key, let value, let expected):
            return "drive option \(key)='\(value)' is invalid: \(expected)"
        case .missingDriveFile(let text):
            return "drive '\(text)' has no file: add file=PATH"
        case .unsupportedDriveFormat(let format):
            return "drive format '\(format)' is not supported: only raw is supported, use format=raw"
        case .duplicateDriveID(let id):
            return "duplicate drive id '\(id)': give each drive its own id="
        case .cannotOpenDrive(let path, let code):
            return "cannot open drive file '\(path)': \(errnoText(code))"
        case .cannotOpenMemPath(let path, let code):
            return "cannot open -mem-path file '\(path)': \(errnoText(code))"
        case .memPathTooSmall(let path, let fileSize, let ramSize):
            return "-mem-path file '\(path)' is \(fileSize) bytes, smaller than the RAM size \(ramSize) bytes: "
                + "use a larger file or a smaller -m"
        case .cannotMapRAM(let size, let code):
            return "cannot map \(size) bytes of guest RAM: \(errnoText(code)); use a smaller -m"
        case .ramAccessOutOfRange(let address, let size, let ramSize):
            return "guest-physical range 0x\(String(address, radix: 16)) + \(size) bytes is outside guest RAM "
                + "(\(ramSize) bytes from address 0): use a range inside RAM"
        case .driveAccessOutOfRange(let id, let offset, let size, let driveSize):
            return "access of \(size) bytes at offset \(offset) is outside drive '\(id)' (\(driveSize) bytes): "
                + "use a range inside the drive"
        case .driveReadOnly(let id):
            return "drive '\(id)' is read-only: open it with readonly=off to write to it"
        case .driveIOFailed(let id, let operation, let code):
            return "\(operation) on drive '\(id)' failed: \(errnoText(code))"
        case .cannotWriteFile(let path, let code):
            return "cannot write '\(path)': \(errnoText(code)); check the directory exists and is writable"
        case .notARegularFile(let path, let kind):
            return "cannot write '\(path)': it is \(kind), not a regular file; give the path of a new or regular file"
        case .plantedFile(let path, let owner):
            return "cannot write '\(path)': it belongs to another user (uid \(owner)) in a directory everyone can "
                + "write to; remove it or choose a path in a directory of your own"
        case .cannotContinue(let reason):
            return reason
        }
    }
}
