import Glibc
import Platform
@testable import Machine
import Testing
import TestSupport

/// Which pages of guest RAM may hold data: written ones, and a -mem-path file's data pages.
@Suite struct GuestRAMPopulationTests {
    @Test func writesPopulateTheirPagesOnly() throws {
        let ram = try GuestRAM(size: 1 << 30)
        #expect(ram.populated.dirtyCount == 0)
        try ram.write(at: 4095, bytes: [1, 2])
        #expect(ram.populated.dirtyCount == 2)
        #expect(ram.populated.isDirty(0) && ram.populated.isDirty(1))
    }

    /// A -mem-path file is mapped copy-on-write, as QEMU's share=off: its data pages count as populated and the
    /// guest's writes stay private. When the file shrinks under the guest, the kernel drops every page past the new
    /// end, the guest's copies too (as it does for QEMU): they read as zeros, never a SIGBUS, and are counted for
    /// the monitor to say so. The file is never written.
    @Test func aMemPathFileIsMappedPrivatelyAndMayShrink() throws {
        let dir = TempDir()
        // 8 MiB, sparse, with data in two pages only.
        let path = dir.file("ram.bin")
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 8 << 20) == 0)
        let a = pattern(4096, seed: 3), b = pattern(100, seed: 4), c = pattern(4096, seed: 5)
        _ = a.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 3 << 20) }
        _ = b.withUnsafeBytes { pwrite(fd, $0.baseAddress, 100, (8 << 20) - 100) }
        close(fd)
        let ram = try GuestRAM(size: 8 << 20, memPath: path)
        #expect(ram.populated.dirtyCount == 2)
        #expect(try ram.read(at: 3 << 20, count: 4096) == a)
        #expect(try ram.read(at: (8 << 20) - 100, count: 100) == b)
        try ram.write(at: 5 << 20, bytes: c)
        #expect(try ram.read(at: 5 << 20, count: 4096) == c)
        let replaced = ShrinkGuard.replacedPages
        #expect(truncate(path, 0) == 0)
        #expect(try ram.read(at: 5 << 20, count: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(try ram.read(at: 3 << 20, count: 4096) == [UInt8](repeating: 0, count: 4096), "past the end: zeros")
        #expect(ShrinkGuard.replacedPages >= replaced + 2)
        #expect(try ram.read(at: 0, count: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(TempDir.read(path).isEmpty, "the file is never written")
    }

    /// Start-up does not read the file: an 8 GiB file maps as fast as a small one.
    @Test func aLargeMemPathFileMapsAtOnce() throws {
        let dir = TempDir()
        let path = dir.file("large.bin")
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        #expect(ftruncate(fd, 8 << 30) == 0)
        _ = [UInt8](repeating: 7, count: 4096).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 5 << 30) }
        close(fd)
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let ram = try GuestRAM(size: 8 << 30, memPath: path)
        clock_gettime(CLOCK_MONOTONIC, &end)
        let milliseconds = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1_000_000
        #expect(milliseconds < 200, "\(milliseconds) ms")
        #expect(try ram.read(at: 5 << 30, count: 2) == [7, 7])
        #expect(ram.populated.dirtyCount == 1)
    }

    /// -mem-prealloc: every page is touched before the guest starts, and RAM still reads as zeros.
    @Test func preallocatedRAMIsBackedAndZero() throws {
        let ram = try GuestRAM(size: 64 << 20, prealloc: true)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #expect(usage.ru_maxrss >= 64 << 10, "resident: \(usage.ru_maxrss) KiB")
        #expect(try ram.read(at: 63 << 20, count: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(ram.populated.dirtyCount == 0)
    }

    @Test func aMemPathFileSmallerThanRAMIsRefused() throws {
        let dir = TempDir()
        let path = dir.write("small.bin", [1, 2, 3])
        #expect(throws: MachineError.memPathTooSmall(path: path, fileSize: 3, ramSize: 4096)) {
            _ = try GuestRAM(size: 4096, memPath: path)
        }
    }
}
