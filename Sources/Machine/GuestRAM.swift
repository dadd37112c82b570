import Glibc
import Synchronization
import Platform

/// The guest's physical memory: one anonymous mapping of `size` bytes at guest-physical address 0, a dirty bit per
/// 4 KiB page, and a populated bit per page: pages never written are known to be zero, so a migration sends them
/// without reading them and a destination leaves them untouched, and RAM costs only what was written.
///
/// A `-mem-path` file is mapped privately (copy-on-write, as QEMU's `memory-backend-file,share=off`): start-up costs
/// nothing whatever its size, the guest's writes go to private copies, and the file is never modified. Should the
/// file shrink under the running guest, the pages past its new end read as zeros (ShrinkGuard) instead of
/// ending hmp with SIGBUS. `prealloc` (`-mem-prealloc`) touches every page before the guest starts, as QEMU's.
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

    /// `size` is rounded up to whole pages. Without `prealloc` nothing is backed here: pages are faulted in as they
    /// are written, so a destination of any size listens at once.
    public init(size requestedSize: UInt64, memPath: String? = nil, prealloc: Bool = false) throws(MachineError) {
        let pageMask = UInt64(GuestRAM.pageSize - 1)
        guard requestedSize > 0, requestedSize <= UInt64(Int.max) - pageMask else {
            throw .ramSizeOutOfRange(text: String(requestedSize))
        }
        let size = (requestedSize + pageMask) & ~pageMask
        self.size = size
        self.pageCount = Int(size >> UInt64(GuestRAM.pageShift))
        // No running count: the vCPU's mark stays one atomic OR per page, and the migration counts what it takes.
        self.dirty = DirtyBitmap(bitCount: pageCount, countsBits: false)
        self.populated = DirtyBitmap(bitCount: pageCount, countsBits: false)
        if let memPath {
            base = try Self.mapFile(memPath, requestedSize: requestedSize, size: size, populated: populated)
            isFileBacked = true
        } else {
            let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            guard let pointer, pointer != MAP_FAILED else { throw .cannotMapRAM(size: size, errno: errno) }
            // As QEMU's ram_block_add: transparent huge pages where the host offers them only on request. An
            // incoming migration then faults RAM in 2 MiB at a time instead of 4 KiB. Advisory: failure is harmless.
            _ = madvise(pointer, Int(size), MADV_HUGEPAGE)
            base = pointer
            isFileBacked = false
        }
        isPreallocated = prealloc
        if prealloc { preallocate() }
    }

    /// Whether every page was touched at start-up (`-mem-prealloc`): nothing is left for an incoming migration to
    /// fault in ahead of its writes.
    public let isPreallocated: Bool

    /// Whether RAM is a private mapping of a `-mem-path` file.
    public let isFileBacked: Bool

    /// Reads one byte of every page in the range from user space, before the kernel is handed the range (a write
    /// to a file): a page past the end of a `-mem-path` file that shrank then becomes a zero page (ShrinkGuard)
    /// instead of failing the system call with EFAULT. Nothing to do for anonymous RAM.
    public func faultIn(address: UInt64, count: Int) {
        guard isFileBacked, count > 0, address < size else { return }
        var sum: UInt8 = 0
        var offset = Int(address) & ~(GuestRAM.pageSize - 1)
        let end = min(Int(size), Int(address) + count)
        while offset < end {
            sum ^= (base + offset).load(as: UInt8.self)
            offset += GuestRAM.pageSize
        }
        touched.store(sum, ordering: .relaxed)
    }

    /// Maps the file's first `size` bytes privately; the pages of its data (not its holes) count as populated.
    private static func mapFile(
        _ memPath: String, requestedSize: UInt64, size: UInt64, populated: DirtyBitmap
    ) throws(MachineError) -> UnsafeMutableRawPointer {
        let fd = open(memPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpenMemPath(path: memPath, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpenMemPath(path: memPath, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpenMemPath(path: memPath, errno: EINVAL) }
        guard UInt64(st.st_size) >= requestedSize else {
            throw .memPathTooSmall(path: memPath, fileSize: UInt64(st.st_size), ramSize: requestedSize)
        }
        let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else { throw .cannotMapRAM(size: size, errno: errno) }
        ShrinkGuard.guardMapping(pointer, count: Int(size))
        // The file's holes read as zeros: only its data can be non-zero (SEEK_DATA/SEEK_HOLE, metadata only).
        var offset = 0
        let total = Int(requestedSize)
        while offset < total {
            let data = lseek(fd, off_t(offset), seekData)
            guard data >= 0, Int(data) < total else { break }
            let hole = lseek(fd, data, seekHole)
            let end = hole < 0 ? total : min(total, Int(hole))
            let first = Int(data) >> GuestRAM.pageShift
            let last = (end - 1) >> GuestRAM.pageShift
            if first <= last { populated.mark(first..<(last + 1)) }
            offset = max(end, Int(data) + 1)
        }
        return pointer
    }

    /// Touches every page writable now, so that the guest and an incoming migration never wait for a fault:
    /// MADV_POPULATE_WRITE where the kernel has it, else one write per page (which leaves the bytes as they are).
    private func preallocate() {
        if madvise(base, Int(size), madvisePopulateWrite) == 0 { return }
        for page in 0..<pageCount {
            let pointer = (base + page << GuestRAM.pageShift).assumingMemoryBound(to: UInt8.self)
            pointer.pointee = pointer.pointee
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
        if isFileBacked { ShrinkGuard.unguard(base) }
        munmap(base, Int(size))
    }

    public var dirtyPageCount: Int { dirty.dirtyCount }

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

}

/// Where `faultIn` leaves what it read, so that the reads are not optimised away.
private let touched = Atomic<UInt8>(0)

/// Linux's SEEK_DATA and SEEK_HOLE, which Glibc's Swift overlay does not export.
private let seekData: Int32 = 3
private let seekHole: Int32 = 4
/// Linux's MADV_POPULATE_WRITE (5.14), newer than some C libraries' headers.
private let madvisePopulateWrite: Int32 = 23
