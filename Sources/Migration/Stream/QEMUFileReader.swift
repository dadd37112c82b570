import Glibc

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

    public static let ioError = MigrationError("Input/output error")

    public init(fileDescriptor: Int32, bufferSize: Int = 1 << 20) {
        self.fileDescriptor = fileDescriptor
        capacity = max(bufferSize, 4096)
        buffer = .allocate(byteCount: capacity, alignment: 4096)
    }

    deinit {
        buffer.deallocate()
    }

    /// Bytes handed to the caller so far.
    public var bytesRead: UInt64 { consumed }

    /// Refills the empty buffer; false at end of stream.
    private func refill() throws(MigrationError) -> Bool {
        start = 0
        end = 0
        while true {
            let n = Glibc.read(fileDescriptor, buffer, capacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw QEMUFileReader.ioError
            }
            if n == 0 { return false }
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
                let n = Glibc.read(fileDescriptor, base + done, count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw QEMUFileReader.ioError
                }
                if n == 0 { throw QEMUFileReader.ioError }
                done += n
                consumed += UInt64(n)
                continue
            }
            guard try refill() else { throw QEMUFileReader.ioError }
        }
    }

    /// Reads `count` bytes and hands them to `body` as (bytes, offset) pieces instead of copying them all: the
    /// buffered prefix in place, cut to whole 4 KiB pages so that a file write of a piece never splits a page, and
    /// the rest read into `scratch` at its offset. `scratch` must hold `count` bytes.
    public func read(
        _ count: Int, scratch: UnsafeMutableRawBufferPointer,
        _ body: (UnsafeRawBufferPointer, Int) throws(MigrationError) -> Void
    ) throws(MigrationError) {
        guard count > 0 else { return }
        guard scratch.count >= count else { throw MigrationError("read of \(count) bytes into a smaller buffer") }
        let inPlace = min(end - start, count) & ~4095
        if inPlace > 0 {
            let piece = UnsafeRawBufferPointer(start: buffer + start, count: inPlace)
            start += inPlace
            consumed += UInt64(inPlace)
            try body(piece, 0)
        }
        if inPlace < count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: scratch[inPlace..<count])
            try read(into: rest)
            try body(UnsafeRawBufferPointer(rest), inPlace)
        }
    }

    /// Below this a read goes through the buffer: one syscall per small record would cost more than the copy.
    static let directReadMinimum = 64 << 10

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
