import Glibc
import Platform

/// The guest's physical memory: one anonymous mapping of `size` bytes at guest-physical address 0, a dirty bit per
/// 4 KiB page, and a populated bit per page: pages never written are known to be zero, so a migration sends them
/// without reading them and a destination leaves them untouched, and RAM costs only what was written.
///
/// A `-mem-path` file is read into the mapping at start-up (its non-zero pages only) and never used again, so
/// truncating or changing the file under a running guest cannot fault hmp and the file is never modified.
///
/// `@unchecked Sendable`: the mapping's address and size never change between init and deinit, and the bitmaps are
/// atomic. Guest bytes themselves are shared without a lock on purpose — the workload (the "vCPU") writes while the
/// migration thread reads, as in QEMU; a page read mid-write is still dirty and is sent again.
public final class GuestRAM: @unchecked Sendable {
    public static let pageSize = 4096
    public static let pageShift = 12

    public let size: UInt64
    public let pageCount: Int
    public let dirty: DirtyBitmap
    /// Pages that may hold non-zero bytes; a clear bit is a page of the untouched anonymous mapping, all zeros.
    public let populated: DirtyBitmap
    private let base: UnsafeMutableRawPointer

    /// `size` is rounded up to whole pages. Nothing is backed here: pages are faulted in as they are written, so a
    /// destination of any size listens at once.
    public init(size requestedSize: UInt64, memPath: String? = nil) throws(MachineError) {
        let pageMask = UInt64(GuestRAM.pageSize - 1)
        guard requestedSize > 0, requestedSize <= UInt64(Int.max) - pageMask else {
            throw .ramSizeOutOfRange(text: String(requestedSize))
        }
        let size = (requestedSize + pageMask) & ~pageMask
        let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let pointer, pointer != MAP_FAILED else { throw .cannotMapRAM(size: size, errno: errno) }
        // As QEMU's ram_block_add: transparent huge pages where the host offers them only on request. An incoming
        // migration then faults RAM in 2 MiB at a time instead of 4 KiB. Advisory: failure is harmless.
        _ = madvise(pointer, Int(size), MADV_HUGEPAGE)
        self.base = pointer
        self.size = size
        self.pageCount = Int(size >> UInt64(GuestRAM.pageShift))
        // No running count: the vCPU's mark stays one atomic OR per page, and the migration counts what it takes.
        self.dirty = DirtyBitmap(bitCount: pageCount, countsBits: false)
        self.populated = DirtyBitmap(bitCount: pageCount, countsBits: false)
        if let memPath {
            do throws(MachineError) {
                try load(memPath: memPath, requestedSize: requestedSize)
            } catch {
                munmap(pointer, Int(size))
                throw error
            }
        }
    }

    /// Copies the file's non-zero pages into RAM through a 1 MiB buffer; its zero pages stay unbacked.
    private func load(memPath: String, requestedSize: UInt64) throws(MachineError) {
        let fd = open(memPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpenMemPath(path: memPath, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpenMemPath(path: memPath, errno: errno) }
        guard UInt64(st.st_size) >= requestedSize else {
            throw .memPathTooSmall(path: memPath, fileSize: UInt64(st.st_size), ramSize: requestedSize)
        }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: GuestRAM.pageSize)
        defer { buffer.deallocate() }
        var offset = 0
        let total = Int(requestedSize)
        while offset < total {
            // Holes of a sparse file read as zeros: jump over them instead of reading them.
            let data = lseek(fd, off_t(offset), seekData)
            if data < 0 {
                if errno == ENXIO { return }  // no data from here to the end
            } else if Int(data) & ~(GuestRAM.pageSize - 1) > offset {
                offset = Int(data) & ~(GuestRAM.pageSize - 1)
                continue
            }
            let want = min(chunk, total - offset)
            let n: Int
            switch retryingInterrupts({ pread(fd, buffer, want, off_t(offset)) }) {
            case .success(let count): n = count
            case .failure(let error): throw .cannotOpenMemPath(path: memPath, errno: error.rawValue)
            }
            // The file shrank since fstat: the rest of RAM stays zero, as a hole reads.
            if n == 0 { return }
            var page = 0
            while page < n {
                let count = min(GuestRAM.pageSize, n - page)
                if !GuestRAM.isZero(UnsafeRawPointer(buffer + page), count: count) {
                    (base + offset + page).copyMemory(from: buffer + page, byteCount: count)
                    populated.mark((offset + page) >> GuestRAM.pageShift)
                }
                page += GuestRAM.pageSize
            }
            offset += n
        }
    }

    /// Whether `count` bytes at `pointer` are all zero (QEMU's buffer_is_zero); `count` a multiple of 8 is fastest.
    public static func isZero(_ pointer: UnsafeRawPointer, count: Int) -> Bool {
        var i = 0
        var acc: UInt64 = 0
        while i + 32 <= count {
            acc |= pointer.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                | pointer.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                | pointer.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                | pointer.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            if acc != 0 { return false }
            i += 32
        }
        while i < count {
            if pointer.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
            i += 1
        }
        return true
    }

    deinit {
        munmap(base, Int(size))
    }

    public var dirtyPageCount: Int { dirty.dirtyCount }

    public func markDirty(page: Int) { dirty.mark(page) }

    private func check(_ address: UInt64, _ count: Int) throws(MachineError) {
        let (end, overflow) = address.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else {
            throw .ramAccessOutOfRange(address: address, size: UInt64(count), ramSize: size)
        }
    }

    private func pages(_ address: UInt64, _ count: Int) -> Range<Int> {
        let first = Int(address >> UInt64(GuestRAM.pageShift))
        let last = Int((address + UInt64(count) - 1) >> UInt64(GuestRAM.pageShift))
        return first..<(last + 1)
    }

    /// Copies guest bytes at `address` into `buffer`.
    public func read(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MachineError) {
        try check(address, buffer.count)
        guard let dest = buffer.baseAddress, buffer.count > 0 else { return }
        dest.copyMemory(from: base + Int(address), byteCount: buffer.count)
    }

    /// Copies `bytes` into guest memory at `address` and marks the pages touched dirty.
    public func write(at address: UInt64, from bytes: UnsafeRawBufferPointer) throws(MachineError) {
        try check(address, bytes.count)
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let touched = pages(address, bytes.count)
        populated.mark(touched)
        (base + Int(address)).copyMemory(from: source, byteCount: bytes.count)
        dirty.mark(touched)
    }

    public func read(at address: UInt64, count: Int) throws(MachineError) -> [UInt8] {
        try check(address, count)
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base + Int(address), byteCount: count) }
            initialized = count
        }
    }

    public func write(at address: UInt64, bytes: [UInt8]) throws(MachineError) {
        var failure: MachineError?
        bytes.withUnsafeBytes { raw in
            do throws(MachineError) { try write(at: address, from: raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// All of guest RAM, read-only, for the migration engine's page sender (no copy, no allocation).
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: Int(size)))
    }

    /// All of guest RAM, writable without marking pages dirty. Every page counts as populated afterwards, since the
    /// caller may have written anywhere; the incoming loader uses `withLoadingBytes` instead.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { populated.setAll() }
        return try body(UnsafeMutableRawBufferPointer(start: base, count: Int(size)))
    }

    /// All of guest RAM, writable without marking pages dirty, for the incoming loader, which fills a guest that
    /// does not run yet. The caller marks each page it writes in `populated` before writing it, or, for a page
    /// never written that a read lands in ahead of its record, once the record proves it (zeroing it otherwise).
    public func withLoadingBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: Int(size)))
    }

    /// Faults `count` bytes from `offset` in writable without changing them (MADV_POPULATE_WRITE), so that the
    /// writer that follows finds them mapped: the destination's loader has a second thread take the page faults
    /// (and the kernel's zeroing of fresh pages) ahead of it. The range is clamped to RAM; false when the kernel
    /// cannot (before Linux 5.14), which costs nothing but the speed-up.
    @discardableResult
    public func prefault(offset: Int, count: Int) -> Bool {
        guard offset >= 0, count > 0, UInt64(offset) < size else { return true }
        let length = min(count, Int(size) - offset)
        return madvise(base + offset, length, madvisePopulateWrite) == 0
    }

    /// One page, read-only.
    public func withPage<R, E: Error>(_ page: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        precondition(page >= 0 && page < pageCount, "page \(page) outside 0..<\(pageCount)")
        return try body(UnsafeRawBufferPointer(start: base + page << GuestRAM.pageShift, count: GuestRAM.pageSize))
    }
}

/// Linux's SEEK_DATA, which Glibc's Swift overlay does not export.
private let seekData: Int32 = 3
/// Linux's MADV_POPULATE_WRITE (5.14), newer than some C libraries' headers.
private let madvisePopulateWrite: Int32 = 23
