import Glibc
@testable import Machine
import Testing

/// Which pages of guest RAM may hold data: written ones, and a -mem-path file's non-zero pages, read once.
@Suite struct GuestRAMPopulationTests {
    @Test func writesPopulateTheirPagesOnly() throws {
        let ram = try GuestRAM(size: 1 << 30)
        #expect(ram.populated.dirtyCount == 0)
        try ram.write(at: 4095, bytes: [1, 2])
        #expect(ram.populated.dirtyCount == 2)
        #expect(ram.populated.isDirty(0) && ram.populated.isDirty(1))
    }

    @Test func aMemPathFileIsReadAtStartUpAndNotNeededAfter() throws {
        let dir = TempDir()
        // 8 MiB, sparse, with data in two pages only.
        let path = dir.file("ram.bin")
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 8 << 20) == 0)
        let a = pattern(4096, seed: 3), b = pattern(100, seed: 4)
        _ = a.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 3 << 20) }
        _ = b.withUnsafeBytes { pwrite(fd, $0.baseAddress, 100, (8 << 20) - 100) }
        close(fd)
        let ram = try GuestRAM(size: 8 << 20, memPath: path)
        #expect(ram.populated.dirtyCount == 2)
        #expect(truncate(path, 0) == 0)
        #expect(try ram.read(at: 3 << 20, count: 4096) == a)
        #expect(try ram.read(at: (8 << 20) - 100, count: 100) == b)
        #expect(try ram.read(at: 0, count: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(TempDir.read(path).isEmpty, "the file is never written")
    }

    @Test func aMemPathFileSmallerThanRAMIsRefused() throws {
        let dir = TempDir()
        let path = dir.write("small.bin", [1, 2, 3])
        #expect(throws: MachineError.memPathTooSmall(path: path, fileSize: 3, ramSize: 4096)) {
            _ = try GuestRAM(size: 4096, memPath: path)
        }
    }
}
