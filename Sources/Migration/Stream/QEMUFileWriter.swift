import Glibc
import Platform

/// The outgoing stream: big-endian puts into one preallocated buffer, flushed with large blocking writes, as the
/// seed's QEMUFile. Pages are copied into the buffer (a 4 KiB memcpy costs less than a syscall or an iovec per page),
/// so the hot path allocates nothing.
///
/// Not thread-safe: one migration thread owns it. Another thread may `shutdown(2)` the socket to cancel; the next
/// write then fails with a `MigrationError`, never a trap.
public final class QEMUFileWriter {
    public let fileDescriptor: Int32
    private let buffer: UnsafeMutableRawPointer
    public let capacity: Int
    private var used = 0
    private var flushed: UInt64 = 0
    private let isSocket: Bool
    /// What QEMU's QIOChannel calls itself in a write error: `socket`, `command` (exec:) or `file`.
    private let channelName: String
    /// Pending iovecs for `flush`, set up only once `putExternal` is used: buffered runs and caller-owned memory in
    /// stream order. `segmentStart` is where the buffered bytes not yet in an iovec begin.
    private var iov: UnsafeMutablePointer<iovec>?
    private var iovCount = 0
    private var segmentStart = 0
    private var external = 0
    private static let iovLimit = 1024
    /// The first write error; every later put is dropped and every flush rethrows it, as qemu_file_set_error.
    public private(set) var error: MigrationError?

    /// `bufferSize` is clamped to at least 64 KiB so that a 4 KiB page always fits after a flush.
    /// `toCommand`: the descriptor is an exec: command's stdin.
    public init(fileDescriptor: Int32, bufferSize: Int = 2 << 20, toCommand: Bool = false) {
        self.fileDescriptor = fileDescriptor
        capacity = max(bufferSize, 64 << 10)
        buffer = .allocate(byteCount: capacity, alignment: 4096)
        var st = stat()
        isSocket = fstat(fileDescriptor, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
        channelName = toCommand ? "command" : isSocket ? "socket" : "file"
        // sendfile (putFile) has no MSG_NOSIGNAL: set once here rather than a sigaction per chunk.
        if isSocket { Signals.ignoreBrokenPipes() }
    }

    deinit {
        iov?.deallocate()
        buffer.deallocate()
    }

    /// Total bytes put so far, sent or still buffered: what the seed's qemu_file_transferred counts.
    public var bytesWritten: UInt64 { flushed + UInt64(used + external) }

    /// Bytes the kernel has taken.
    public var bytesFlushed: UInt64 { flushed }

    @inline(__always)
    private func reserve(_ n: Int) throws(MigrationError) {
        if let error { throw error }
        if capacity - used < n { try flush() }
    }

    /// One big-endian integer, as qemu_put_be16/32/64.
    @inline(__always)
    private func putBigEndian<T: FixedWidthInteger>(_ v: T) throws(MigrationError) {
        try reserve(MemoryLayout<T>.size)
        buffer.storeBytes(of: v.bigEndian, toByteOffset: used, as: T.self)
        used += MemoryLayout<T>.size
    }

    public func put8(_ v: UInt8) throws(MigrationError) { try putBigEndian(v) }
    public func put32(_ v: UInt32) throws(MigrationError) { try putBigEndian(v) }
    public func put64(_ v: UInt64) throws(MigrationError) { try putBigEndian(v) }

    /// Copies `bytes` into the stream; a run larger than the buffer goes straight to the fd after a flush.
    public func putBytes(_ bytes: UnsafeRawBufferPointer) throws(MigrationError) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if bytes.count > capacity {
            try flush()
            try writeAll(source, bytes.count)
            return
        }
        try reserve(bytes.count)
        (buffer + used).copyMemory(from: source, byteCount: bytes.count)
        used += bytes.count
    }

    /// Lets `fill` produce `count` bytes in place (a pread straight into the stream, no staging copy); `count` may
    /// not exceed `capacity`. Nothing is put when `fill` throws.
    public func putBytes(
        count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(MigrationError) -> Void
    ) throws(MigrationError) {
        guard count > 0 else { return }
        guard count <= capacity else { throw MigrationError("a \(count)-byte put exceeds the stream buffer") }
        try reserve(count)
        try fill(UnsafeMutableRawBufferPointer(start: buffer + used, count: count))
        used += count
    }

    /// Puts up to `count` bytes of file `fd` from `offset` with sendfile(2), after a flush: the kernel hands
    /// page-cache pages to the socket instead of copying them into user space and back. Returns how many went; the
    /// caller puts the rest itself (not a socket, or the file ended or failed there: the caller's own read of the
    /// rest then reports a file error, and a socket error reappears at the next flush).
    public func putFile(_ fd: Int32, offset: UInt64, count: Int) throws(MigrationError) -> Int {
        guard isSocket, count > 0 else { return 0 }
        try flush()
        var position = off_t(offset)
        var done = 0
        while done < count {
            guard case .success(let n) = retryingInterrupts({ sendfile(fileDescriptor, fd, &position, count - done) }),
                n > 0
            else { break }
            done += n
            flushed += UInt64(n)
        }
        return done
    }

    /// Puts `count` bytes at `pointer` by reference: the next flush writes them with writev/sendmsg instead of this
    /// call copying them. The memory must stay mapped until then; a guest page that changes meanwhile goes out with
    /// its newer bytes, which is fine for migration since the write also marked it dirty.
    public func putExternal(_ pointer: UnsafeRawPointer, count: Int) throws(MigrationError) {
        if let error { throw error }
        guard count > 0 else { return }
        // Room for a buffered run, this page and the closing run at flush.
        if iovCount + 3 > QEMUFileWriter.iovLimit { try flush() }
        let vectors = iov ?? {
            let made = UnsafeMutablePointer<iovec>.allocate(capacity: QEMUFileWriter.iovLimit)
            iov = made
            return made
        }()
        closeSegment(vectors)
        vectors[iovCount] = iovec(iov_base: UnsafeMutableRawPointer(mutating: pointer), iov_len: count)
        iovCount += 1
        external += count
    }

    /// Ends the current run of buffered bytes as an iovec.
    private func closeSegment(_ vectors: UnsafeMutablePointer<iovec>) {
        guard used > segmentStart else { return }
        vectors[iovCount] = iovec(iov_base: buffer + segmentStart, iov_len: used - segmentStart)
        iovCount += 1
        segmentStart = used
    }

    public func putBytes(_ bytes: [UInt8]) throws(MigrationError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(MigrationError) in try putBytes(raw) } }.get()
    }

    /// `count` copies of `byte` (padding).
    public func putRepeated(_ byte: UInt8, count: Int) throws(MigrationError) {
        var left = count
        while left > 0 {
            try reserve(1)
            let n = min(left, capacity - used)
            (buffer + used).initializeMemory(as: UInt8.self, repeating: byte, count: n)
            used += n
            left -= n
        }
    }

    /// One length byte and the UTF-8 bytes; names longer than 255 bytes cannot be sent, as in QEMU.
    public func putLengthPrefixedString(_ s: String) throws(MigrationError) {
        let utf8 = Array(s.utf8)
        guard utf8.count <= 255 else { throw MigrationError("name too long for the migration stream: \(s)") }
        try put8(UInt8(utf8.count))
        try putBytes(utf8)
    }

    public func flush() throws(MigrationError) {
        if let error { throw error }
        if let vectors = iov, iovCount > 0 {
            closeSegment(vectors)
            let count = iovCount
            iovCount = 0
            used = 0
            segmentStart = 0
            external = 0
            try writeVectors(vectors, count)
            return
        }
        guard used > 0 else { return }
        let n = used
        used = 0
        segmentStart = 0
        try writeAll(buffer, n)
    }

    /// writev/sendmsg until every iovec went; partial writes advance through the array. MSG_NOSIGNAL: a peer that
    /// went away is an error here, not SIGPIPE (pipes rely on the process ignoring SIGPIPE, as QEMU and the monitor
    /// do).
    private func writeVectors(_ vectors: UnsafeMutablePointer<iovec>, _ count: Int) throws(MigrationError) {
        var first = 0
        while first < count {
            let written = retryingInterrupts { () -> Int in
                guard isSocket else { return writev(fileDescriptor, vectors + first, Int32(count - first)) }
                var message = msghdr()
                message.msg_iov = vectors + first
                message.msg_iovlen = count - first
                return sendmsg(fileDescriptor, &message, Int32(MSG_NOSIGNAL))
            }
            let n: Int
            switch written {
            case .success(let count) where count > 0: n = count
            case .success: throw writeFailure(EPIPE)
            case .failure(let code): throw writeFailure(code.rawValue)
            }
            flushed += UInt64(n)
            var left = n
            while left > 0, left >= vectors[first].iov_len {
                left -= vectors[first].iov_len
                first += 1
            }
            if left > 0 {
                vectors[first].iov_base += left
                vectors[first].iov_len -= left
            }
        }
    }

    /// One run of bytes, written as `writeVectors` writes (the iovec is on the stack: nothing allocated).
    private func writeAll(_ start: UnsafeRawPointer, _ count: Int) throws(MigrationError) {
        var one = iovec(iov_base: UnsafeMutableRawPointer(mutating: start), iov_len: count)
        try writeVectors(&one, 1)
    }

    /// QEMU's write failure, kept as the stream's error.
    private func writeFailure(_ code: Int32) -> MigrationError {
        let failure = MigrationError("Unable to write to \(channelName): \(errnoText(code))")
        error = failure
        return failure
    }
}
