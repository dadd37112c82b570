import CLinux
import Glibc
import Platform

/// The incoming stream: a buffered reader over an fd with big-endian gets. Every get either returns the bytes or
/// throws; a stream that ends mid-record gives QEMU's `Input/output error` (qemu_file_get_error is -EIO there).
/// Nothing here traps on any input: lengths come from the caller, who checks them first.
public final class QEMUFileReader {
    public let fileDescriptor: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var start = 0
    private var end = 0
    private var consumed: UInt64 = 0
    /// How much a refill asks for. The block loader lowers it so that a chunk's data stays in the socket for
    /// `transfer` to splice instead of being read ahead into the buffer.
    public var readAhead: Int
    /// The pipe `transfer` splices through, made on first use.
    private var pipeFDs: (Int32, Int32)?
    private var spliceWorks = true

    public static let ioError = MigrationError("Input/output error")

    public init(fileDescriptor: Int32, bufferSize: Int = 1 << 20) {
        self.fileDescriptor = fileDescriptor
        capacity = max(bufferSize, 4096)
        buffer = .allocate(byteCount: capacity, alignment: 4096)
        readAhead = capacity
    }

    deinit {
        closePipe()
        buffer.deallocate()
    }

    /// Bytes handed to the caller so far.
    public var bytesRead: UInt64 { consumed }

    /// Refills the empty buffer with up to `limit` bytes (`readAhead` by default); false at end of stream.
    private func refill(limit: Int? = nil) throws(MigrationError) -> Bool {
        start = 0
        end = 0
        switch retryingInterrupts({ Glibc.read(fileDescriptor, buffer, min(capacity, max(limit ?? readAhead, 1))) }) {
        case .failure: throw QEMUFileReader.ioError
        case .success(0): return false
        case .success(let n):
            end = n
            return true
        }
    }

    /// Copies exactly `destination.count` bytes; large reads bypass the buffer.
    public func read(into destination: UnsafeMutableRawBufferPointer) throws(MigrationError) {
        guard let base = destination.baseAddress else { return }
        var done = 0
        let count = destination.count
        while done < count {
            if start < end {
                let n = min(end - start, count - done)
                (base + done).copyMemory(from: buffer + start, byteCount: n)
                start += n
                done += n
                consumed += UInt64(n)
                continue
            }
            // An empty buffer and a large rest: the kernel copies straight into the destination.
            if count - done >= min(capacity, QEMUFileReader.directReadMinimum) {
                guard case .success(let n) = retryingInterrupts({ Glibc.read(fileDescriptor, base + done, count - done) }),
                    n > 0
                else { throw QEMUFileReader.ioError }
                done += n
                consumed += UInt64(n)
                continue
            }
            guard try refill() else { throw QEMUFileReader.ioError }
        }
    }

    /// Moves `count` stream bytes into file `fd` at `offset`: the buffered ones with pwrite, the rest with splice(2)
    /// through a pipe, so that socket data reaches the page cache in one kernel copy instead of two copies through
    /// user space. Where splice cannot be used the rest goes through the buffer. A short stream or a failed write
    /// is QEMU's `Input/output error`.
    /// `fileError` turns a failed write's errno into the error to throw, so that the caller can name the file;
    /// stream errors stay `Input/output error`.
    public func transfer(
        _ count: Int, toFile fd: Int32, at offset: UInt64, fileError: (Int32) -> MigrationError
    ) throws(MigrationError) {
        var done = 0
        while done < count {
            if start == end, let spliced = try splice(count - done, fd, offset + UInt64(done), fileError) {
                if spliced == 0 { throw QEMUFileReader.ioError }
                done += spliced
                consumed += UInt64(spliced)
                continue
            }
            // No splice: through the buffer, up to the rest of the data per read whatever `readAhead` says.
            if start == end { guard try refill(limit: count - done) else { throw QEMUFileReader.ioError } }
            let n = min(end - start, count - done)
            try writeFile(fd, buffer + start, n, offset + UInt64(done), fileError)
            start += n
            done += n
            consumed += UInt64(n)
        }
    }

    /// One round of socket → pipe → file; nil when splice does not work on this descriptor (then never again),
    /// 0 at end of stream.
    private func splice(
        _ count: Int, _ fd: Int32, _ offset: UInt64, _ fileError: (Int32) -> MigrationError
    ) throws(MigrationError) -> Int? {
        if pipeFDs == nil {
            guard spliceWorks else { return nil }
            var fds: [Int32] = [-1, -1]
            guard hmp_pipe_cloexec(&fds) == 0 else {
                spliceWorks = false
                return nil
            }
            // A 1 MiB pipe: one chunk per round (the default 64 KiB would take 16).
            _ = hmp_set_pipe_size(fds[1], 1 << 20)
            pipeFDs = (fds[0], fds[1])
        }
        guard let (pipeRead, pipeWrite) = pipeFDs else { return nil }
        let n: Int
        switch retryingInterrupts({ hmp_splice(fileDescriptor, pipeWrite, nil, count) }) {
        case .success(let moved): n = moved
        case .failure(let error):
            // EINVAL: not a spliceable descriptor; nothing was consumed, the buffered path takes over.
            if error == .invalidArgument { spliceWorks = false; return nil }
            throw QEMUFileReader.ioError
        }
        var drained = 0
        while drained < n {
            var position = Int64(offset) + Int64(drained)
            let spliced = retryingInterrupts { hmp_splice(pipeRead, fd, &position, n - drained) }
            guard case .success(let m) = spliced, m > 0 else {
                let code: Int32 = if case .failure(let error) = spliced { error.rawValue } else { EIO }
                // The pipe keeps what was not written: no later splice may use it.
                closePipe()
                spliceWorks = false
                throw fileError(code)
            }
            drained += m
        }
        return n
    }

    private func writeFile(
        _ fd: Int32, _ from: UnsafeRawPointer, _ count: Int, _ offset: UInt64, _ fileError: (Int32) -> MigrationError
    ) throws(MigrationError) {
        var done = 0
        while done < count {
            let written = retryingInterrupts { pwrite(fd, from + done, count - done, off_t(offset) + off_t(done)) }
            guard case .success(let n) = written, n > 0 else {
                let code: Int32 = if case .failure(let error) = written { error.rawValue } else { EIO }
                throw fileError(code)
            }
            done += n
        }
    }

    private func closePipe() {
        if let (r, w) = pipeFDs {
            close(r)
            close(w)
        }
        pipeFDs = nil
    }

    /// Below this a read goes through the buffer: one syscall per small record would cost more than the copy.
    static let directReadMinimum = 64 << 10

    /// Lets `body` parse the bytes already buffered, without a copy; it returns how many it consumed (at most
    /// all). For runs of small records that would otherwise cost a call per field.
    public func consumeBuffered(_ body: (UnsafeRawBufferPointer) -> Int) {
        let n = body(UnsafeRawBufferPointer(start: buffer + start, count: end - start))
        precondition(n >= 0 && n <= end - start, "consumed \(n) of \(end - start) buffered bytes")
        start += n
        consumed += UInt64(n)
    }

    /// Reads and drops `count` bytes.
    public func skip(_ count: UInt64) throws(MigrationError) {
        var left = count
        while left > 0 {
            if start == end { guard try refill() else { throw QEMUFileReader.ioError } }
            let n = Int(min(UInt64(end - start), left))
            start += n
            left -= UInt64(n)
            consumed += UInt64(n)
        }
    }

    @inline(__always)
    private func fixed<T: FixedWidthInteger>(_: T.Type) throws(MigrationError) -> T {
        let size = MemoryLayout<T>.size
        if end - start >= size {
            let v = buffer.loadUnaligned(fromByteOffset: start, as: T.self)
            start += size
            consumed += UInt64(size)
            return T(bigEndian: v)
        }
        var v: T = 0
        try withUnsafeMutableBytes(of: &v) { (raw) throws(MigrationError) in try read(into: raw) }
        return T(bigEndian: v)
    }

    public func get8() throws(MigrationError) -> UInt8 {
        if start < end {
            let v = buffer.load(fromByteOffset: start, as: UInt8.self)
            start += 1
            consumed += 1
            return v
        }
        guard try refill() else { throw QEMUFileReader.ioError }
        return try get8()
    }

    public func get16() throws(MigrationError) -> UInt16 { try fixed(UInt16.self) }
    public func get32() throws(MigrationError) -> UInt32 { try fixed(UInt32.self) }
    public func get64() throws(MigrationError) -> UInt64 { try fixed(UInt64.self) }

    public func getBytes(_ count: Int) throws(MigrationError) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var failure: MigrationError?
        bytes.withUnsafeMutableBytes { raw in
            do throws(MigrationError) { try read(into: raw) } catch { failure = error }
        }
        if let failure { throw failure }
        return bytes
    }

    /// One length byte and that many bytes (qemu_get_counted_string), as raw bytes: names need not be UTF-8.
    public func getLengthPrefixedBytes() throws(MigrationError) -> [UInt8] {
        try getBytes(Int(try get8()))
    }

    /// The same, decoded leniently as UTF-8 and cut at the first NUL as QEMU's C string would be.
    public func getLengthPrefixedString() throws(MigrationError) -> String {
        cString(try getLengthPrefixedBytes())
    }

    /// Tries to read one byte; nil at a clean end of stream (for the optional VMDESCRIPTION after EOF).
    public func peekEnd() throws(MigrationError) -> Bool {
        if start < end { return false }
        return !(try refill())
    }
}

/// Bytes up to the first NUL, decoded with replacement: how a C string from the stream reads in QEMU's messages.
func cString(_ bytes: [UInt8]) -> String {
    let cut = bytes.firstIndex(of: 0).map { Array(bytes[..<$0]) } ?? bytes
    return String(decoding: cut, as: UTF8.self)
}
