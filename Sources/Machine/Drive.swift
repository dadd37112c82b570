import Glibc
import Platform
import SystemPackage

/// An open raw image: reads and writes go straight to the file with pread/pwrite, and each write marks its 1 MiB
/// chunks dirty (the seed's block migration works in chunks of this size).
///
/// Shared between threads as it is: the descriptor, size and identity are fixed after init, pread/pwrite carry
/// their own offsets, and the dirty bitmap is atomic.
public final class Drive: Sendable {
    public static let chunkSize = 1 << 20
    public static let chunkShift = 20

    public let id: String
    public let path: String
    public let format: String
    public let readOnly: Bool
    /// The file's size when opened; the guest sees a disk of this size and it never grows.
    public let size: UInt64
    public let chunkCount: Int
    public let dirty: DirtyBitmap
    public let fileDescriptor: Int32

    public init(configuration: DriveConfiguration) throws(MachineError) {
        guard configuration.format == "raw" else { throw .unsupportedDriveFormat(format: configuration.format) }
        let fd = open(configuration.path, (configuration.readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpenDrive(path: configuration.path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw .cannotOpenDrive(path: configuration.path, errno: code)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .cannotOpenDrive(path: configuration.path, errno: EINVAL)
        }
        id = configuration.id
        path = configuration.path
        format = configuration.format
        readOnly = configuration.readOnly
        size = UInt64(st.st_size)
        chunkCount = Int((size + UInt64(Drive.chunkSize) - 1) >> UInt64(Drive.chunkShift))
        dirty = DirtyBitmap(bitCount: chunkCount)
        fileDescriptor = fd
    }

    deinit {
        close(fileDescriptor)
    }

    public var dirtyChunkCount: Int { dirty.dirtyCount }

    private func check(_ offset: UInt64, _ count: Int) throws(MachineError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else {
            throw .driveAccessOutOfRange(id: id, offset: offset, size: UInt64(count), driveSize: size)
        }
    }

    /// Fills `buffer` from the file at `offset`.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MachineError) {
        try check(offset, buffer.count)
        let done: Int
        do throws(Errno) {
            done = try Descriptor.read(fileDescriptor, at: offset, into: buffer)
        } catch {
            throw .driveIOFailed(id: id, operation: "read", errno: error.rawValue)
        }
        // The file shrank under us: what is gone reads as zeros, as a hole would.
        if done < buffer.count {
            (buffer.baseAddress! + done).initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count - done)
        }
    }

    /// Writes `bytes` to the file at `offset` and marks the chunks touched dirty.
    public func write(at offset: UInt64, from bytes: UnsafeRawBufferPointer) throws(MachineError) {
        guard !readOnly else { throw .driveReadOnly(id: id) }
        try check(offset, bytes.count)
        guard bytes.count > 0 else { return }
        do throws(Errno) {
            try Descriptor.write(fileDescriptor, at: offset, from: bytes)
        } catch {
            throw .driveIOFailed(id: id, operation: "write", errno: error.rawValue)
        }
        let first = Int(offset >> UInt64(Drive.chunkShift))
        let last = Int((offset + UInt64(bytes.count) - 1) >> UInt64(Drive.chunkShift))
        dirty.mark(first..<(last + 1))
    }

    public func read(at offset: UInt64, count: Int) throws(MachineError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { raw in
            Result { () throws(MachineError) in try read(at: offset, into: raw) }
        }.get()
        return bytes
    }

    public func write(at offset: UInt64, bytes: [UInt8]) throws(MachineError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(MachineError) in try write(at: offset, from: raw) } }.get()
    }

    /// Makes written data durable, for the end of an incoming migration.
    public func flush() throws(MachineError) {
        guard !readOnly else { return }
        guard fsync(fileDescriptor) == 0 else { throw .driveIOFailed(id: id, operation: "flush", errno: errno) }
    }
}
