import Glibc

/// The guest's physical memory: one mapping of `size` bytes at guest-physical address 0, anonymous or a private
/// copy-on-write mapping of a `-mem-path` file (so the file is never modified), and a dirty bit per 4 KiB page.
///
/// `@unchecked Sendable`: the mapping's address and size never change between init and deinit, and the dirty
/// bitmap is atomic. Guest bytes themselves are shared without a lock on purpose — the workload (the "vCPU") writes
/// while the migration thread reads, as in QEMU; a page read mid-write is still dirty and is sent again.
public final class GuestRAM: @unchecked Sendable {
    public static let pageSize = 4096
    public static let pageShift = 12

    public let size: UInt64
    public let pageCount: Int
    public let dirty: DirtyBitmap
    private let base: UnsafeMutableRawPointer

    /// `size` is rounded up to whole pages. `prefault` backs every page now: a migration destination waits for
    /// its stream anyway, and faulting RAM in while the pages arrive was most of its cost.
    public init(size requestedSize: UInt64, memPath: String? = nil, prefault: Bool = false) throws(MachineError) {
        let pageMask = UInt64(GuestRAM.pageSize - 1)
        guard requestedSize > 0, requestedSize <= UInt64(Int.max) - pageMask else {
            throw .ramSizeOutOfRange(text: String(requestedSize))
        }
        let size = (requestedSize + pageMask) & ~pageMask
        let pointer: UnsafeMutableRawPointer?
        if let memPath {
            let fd = open(memPath, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .cannotOpenMemPath(path: memPath, errno: errno) }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw .cannotOpenMemPath(path: memPath, errno: errno) }
            guard UInt64(st.st_size) >= requestedSize else {
                throw .memPathTooSmall(path: memPath, fileSize: UInt64(st.st_size), ramSize: requestedSize)
            }
            // MAP_PRIVATE: guest writes go to private copies of the pages, never back to the file.
            pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        } else {
            pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        }
        guard let pointer, pointer != MAP_FAILED else { throw .cannotMapRAM(size: size, errno: errno) }
        if memPath == nil {
            // As QEMU's ram_block_add: transparent huge pages where the host offers them only on request. An
            // incoming migration then faults RAM in 2 MiB at a time instead of 4 KiB. Advisory: failure is harmless.
            _ = madvise(pointer, Int(size), MADV_HUGEPAGE)
        }
        if prefault {
            // MADV_POPULATE_WRITE (Linux 5.14); on older kernels, a write to each page does the same.
            let populateWrite: Int32 = 23
            if madvise(pointer, Int(size), populateWrite) != 0 {
                for offset in stride(from: 0, to: Int(size), by: GuestRAM.pageSize) {
                    pointer.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
                }
            }
        }
        self.base = pointer
        self.size = size
        self.pageCount = Int(size >> UInt64(GuestRAM.pageShift))
        self.dirty = DirtyBitmap(bitCount: pageCount)
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
        (base + Int(address)).copyMemory(from: source, byteCount: bytes.count)
        dirty.mark(pages(address, bytes.count))
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

    /// All of guest RAM, writable without marking pages dirty: for the incoming loader, which fills a guest that
    /// does not run yet.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: Int(size)))
    }

    /// One page, read-only.
    public func withPage<R, E: Error>(_ page: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        precondition(page >= 0 && page < pageCount, "page \(page) outside 0..<\(pageCount)")
        return try body(UnsafeRawBufferPointer(start: base + page << GuestRAM.pageShift, count: GuestRAM.pageSize))
    }
}
