import CLinux
import Glibc
import Platform
import SystemPackage

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
    /// `readPage`'s iovecs and the speculated records' headers, made on first use.
    private var pageVectors: UnsafeMutablePointer<iovec>?
    private var pageHeaders: UnsafeMutablePointer<UInt64>?

    public static let ioError = MigrationError("Input/output error")

    public init(fileDescriptor: Int32, bufferSize: Int = 1 << 20) {
        self.fileDescriptor = fileDescriptor
        capacity = max(bufferSize, 4096)
        buffer = .allocate(byteCount: capacity, alignment: 4096)
        readAhead = capacity
    }

    deinit {
        closePipe()
        pageVectors?.deallocate()
        pageHeaders?.deallocate()
        buffer.deallocate()
    }

    /// Records `readPage` received straight into their targets, and reads whose bytes it had to put back.
    public private(set) var pagesReadDirect = 0
    public private(set) var pageReadsPutBack = 0

    /// Bytes read from the stream and not yet handed out.
    public var buffered: Int { end - start }

    /// A record `readPage` may find next: its 8 header bytes as they appear in the stream, and where its data goes.
    public struct PageTarget {
        public var header: UInt64
        public var destination: UnsafeMutableRawPointer
        public init(header: UInt64, destination: UnsafeMutableRawPointer) {
            self.header = header
            self.destination = destination
        }
    }

    /// What `readPage` landed beyond the page asked for.
    public struct PageRun {
        /// How many of the targets, in order, were received whole (header as expected and all their bytes).
        public var completed: Int
        /// A header differed from its target's: the stream left the run there.
        public var mismatched: Bool
        /// That header, as a number (nil when none differed).
        public var breakingHeader: UInt64?
    }

    /// The most targets one `readPage` takes.
    public static let maxPageTargets = 64
    /// Room left in the buffer for what follows the targets in the same read: small, so that a run of pages goes
    /// on into guest memory with the next read instead of through the buffer.
    static let pageTailRoom = 16 << 10

    /// Reads `count` bytes into `destination`, as `read(into:)`. When the buffer cannot supply them, the socket read
    /// that follows also lands the records expected next (`targets`: each an 8-byte header, then `count` bytes)
    /// straight in their destinations, sparing a copy through the buffer: the kernel copies into guest memory.
    /// Targets are checked in order as their bytes arrive; from the first whose header differs (or that arrived
    /// only in part) on, the bytes are moved back into the buffer, to be parsed as usual, and zeroed where they
    /// landed. So every target must hold zeros before the call, and its bytes mean something only if completed.
    /// Nothing is written outside `destination` and the targets; a short stream is `Input/output error`.
    public func readPage(
        into destination: UnsafeMutableRawPointer, count: Int, targets: UnsafeBufferPointer<PageTarget>
    ) throws(MigrationError) -> PageRun {
        let room = (capacity - QEMUFileReader.pageTailRoom) / (8 + count)
        let wanted = min(targets.count, QEMUFileReader.maxPageTargets, max(room, 0))
        let have = end - start
        guard have < count, wanted > 0 else {
            try read(into: UnsafeMutableRawBufferPointer(start: destination, count: count))
            return PageRun(completed: 0, mismatched: false, breakingHeader: nil)
        }
        // The buffered start of the page, then the buffer is empty and reads land where the iovecs say.
        destination.copyMemory(from: buffer + start, byteCount: have)
        consumed += UInt64(have)
        start = 0
        end = 0
        let vectors = pageVectors ?? {
            let made = UnsafeMutablePointer<iovec>.allocate(capacity: 2 * QEMUFileReader.maxPageTargets + 2)
            pageVectors = made
            return made
        }()
        let headers = pageHeaders ?? {
            let made = UnsafeMutablePointer<UInt64>.allocate(capacity: QEMUFileReader.maxPageTargets)
            pageHeaders = made
            return made
        }()
        // `room` left at least this much after the targets.
        let tail = QEMUFileReader.pageTailRoom
        var done = have
        var n = 0
        while true {
            vectors[0] = iovec(iov_base: destination + done, iov_len: count - done)
            for k in 0..<wanted {
                vectors[1 + 2 * k] = iovec(iov_base: UnsafeMutableRawPointer(headers + k), iov_len: 8)
                vectors[2 + 2 * k] = iovec(iov_base: targets[k].destination, iov_len: count)
            }
            vectors[1 + 2 * wanted] = iovec(iov_base: buffer, iov_len: tail)
            guard case .success(let got) = retryingInterrupts({ readv(fileDescriptor, vectors, Int32(2 + 2 * wanted)) }),
                got > 0
            else {
                // What did land in the targets (nothing yet: only the page was being filled) needs no undoing.
                throw QEMUFileReader.ioError
            }
            if got < count - done {
                done += got
                consumed += UInt64(got)
                continue
            }
            n = got - (count - done)
            consumed += UInt64(count - done)
            break
        }
        // `n` bytes landed beyond the page: in the targets' headers and data in order, then in the buffer.
        var completed = 0
        while completed < wanted, n > 0 {
            let k = completed
            let whole = n >= 8 + count && headers[k] == targets[k].header
            guard whole else {
                let mismatched = n >= 8 && headers[k] != targets[k].header
                let breaking = mismatched ? UInt64(bigEndian: headers[k]) : nil
                putBack(from: k, landed: n, count: count, headers: headers, targets: targets, wanted: wanted)
                pagesReadDirect += completed
                pageReadsPutBack += 1
                return PageRun(completed: completed, mismatched: mismatched, breakingHeader: breaking)
            }
            completed += 1
            n -= 8 + count
            consumed += UInt64(8 + count)
        }
        // Every target whole (or the read ended at a record boundary): the rest is in the buffer.
        end = n
        pagesReadDirect += completed
        return PageRun(completed: completed, mismatched: false, breakingHeader: nil)
    }

    /// Moves the `landed` bytes from target `first`'s header on back into the buffer, in stream order, ahead of what
    /// the read put in the buffer itself, and zeroes them in the targets.
    private func putBack(
        from first: Int, landed: Int, count: Int, headers: UnsafeMutablePointer<UInt64>,
        targets: UnsafeBufferPointer<PageTarget>, wanted: Int
    ) {
        // How many of the landed bytes sit in the targets' segments, and how many went on into the buffer.
        var inTargets = 0
        var left = landed
        for _ in first..<wanted where left > 0 {
            let h = min(left, 8)
            let d = min(left - h, count)
            inTargets += h + d
            left -= h + d
        }
        let inBuffer = left
        // Overlapping: memmove.
        memmove(buffer + inTargets, buffer, inBuffer)
        var at = 0
        left = inTargets
        for k in first..<wanted where left > 0 {
            let h = min(left, 8)
            (buffer + at).copyMemory(from: UnsafeRawPointer(headers + k), byteCount: h)
            at += h
            left -= h
            let d = min(left, count)
            if d > 0 {
                (buffer + at).copyMemory(from: targets[k].destination, byteCount: d)
                targets[k].destination.initializeMemory(as: UInt8.self, repeating: 0, count: d)
                at += d
                left -= d
            }
        }
        start = 0
        end = inTargets + inBuffer
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

    /// Moves exactly `count` stream bytes into the pipe `pipe`: the buffered ones with write, the rest with splice
    /// (page references, no copy), or through the buffer where the stream cannot be spliced. Blocks while the pipe
    /// is full. A short stream, or a pipe whose reader has gone, is `Input/output error`.
    public func move(_ count: Int, toPipe pipe: Int32) throws(MigrationError) {
        var done = 0
        while done < count {
            if start < end {
                let n = min(end - start, count - done)
                guard case .success(let written) = retryingInterrupts({ Glibc.write(pipe, buffer + start, n) }),
                    written > 0
                else { throw QEMUFileReader.ioError }
                start += written
                done += written
                consumed += UInt64(written)
                continue
            }
            if let n = try spliceIn(count - done, to: pipe) {
                if n == 0 { throw QEMUFileReader.ioError }
                done += n
                consumed += UInt64(n)
                continue
            }
            guard try refill(limit: count - done) else { throw QEMUFileReader.ioError }
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
        guard let (pipeRead, pipeWrite) = pipeFDs, let n = try spliceIn(count, to: pipeWrite) else { return nil }
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

    /// Up to `count` stream bytes spliced into `pipe` (0 at end of stream); nil when the stream's descriptor cannot
    /// be spliced (EINVAL: nothing was consumed, and the buffered path takes over from now on).
    private func spliceIn(_ count: Int, to pipe: Int32) throws(MigrationError) -> Int? {
        guard spliceWorks else { return nil }
        switch retryingInterrupts({ hmp_splice(fileDescriptor, pipe, nil, count) }) {
        case .success(let moved): return moved
        case .failure(let error) where error == .invalidArgument:
            spliceWorks = false
            return nil
        case .failure: throw QEMUFileReader.ioError
        }
    }

    private func writeFile(
        _ fd: Int32, _ from: UnsafeRawPointer, _ count: Int, _ offset: UInt64, _ fileError: (Int32) -> MigrationError
    ) throws(MigrationError) {
        do throws(Errno) {
            try Descriptor.write(fd, at: offset, from: UnsafeRawBufferPointer(start: from, count: count))
        } catch {
            throw fileError(error.rawValue)
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
        try bytes.withUnsafeMutableBytes { raw in Result { () throws(MigrationError) in try read(into: raw) } }.get()
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

}

/// Bytes up to the first NUL, decoded with replacement: how a C string from the stream reads in QEMU's messages.
func cString(_ bytes: [UInt8]) -> String {
    let cut = bytes.firstIndex(of: 0).map { Array(bytes[..<$0]) } ?? bytes
    return String(decoding: cut, as: UTF8.self)
}
