import Foundation
import Glibc
import Machine
@testable import Migration
import Testing
import TestSupport

@Suite struct RoundTripTests {
    /// Random and zero pages, then pages dirtied between iterations, over a socketpair with a writer thread.
    @Test func ramMovesByteForByteWithDirtyPagesResent() throws {
        let source = try makeMachine(ram: 4 << 20)
        var rng = Random(seed: 7)
        for page in stride(from: 0, to: 1024, by: 3) {
            try source.ram.write(at: UInt64(page) << 12, bytes: rng.bytes(4096))
        }
        let destination = try makeMachine(ram: 4 << 20)
        let stats = MigrationStreamStatistics()
        nonisolated(unsafe) var writerStats: MigrationStreamStatistics = stats
        let (state, sendError) = try overSocket(send: { fd in
            let f = QEMUFileWriter(fileDescriptor: fd)
            let writer = SaveVMWriter(machine: source, blockMode: .none)
            writerStats = writer.statistics
            try writer.writeSetup(f)
            #expect(writer.pendingRAMBytes == 4 << 20)
            _ = try writer.iterate(f, budget: 1 << 20)
            // The guest writes behind the scan (pages 0 to 500), which must go again, and ahead of it (1023), which
            // goes once with its new bytes.
            var rng = Random(seed: 99)
            for page in [0, 1, 2, 500, 1023] { try source.ram.write(at: UInt64(page) << 12, bytes: rng.bytes(4096)) }
            while try !writer.iterate(f, budget: 1 << 20) {}
            writer.syncDirty()
            #expect(writer.pendingRAMBytes == 4 * 4096)
            try source.ram.write(at: 77 << 12, bytes: [1, 2, 3])
            try writer.complete(f, runState: "paused")
        }, receive: { fd in
            try SaveVMLoader(machine: destination).load(QEMUFileReader(fileDescriptor: fd)) { _ in }
        })
        #expect(sendError == nil)
        #expect(state == "paused")
        #expect(ramBytes(source) == ramBytes(destination))
        #expect(writerStats.duplicatePages + writerStats.normalPages == 1024 + 4 + 1)
        #expect(writerStats.normalPages == 342 + 4 + 1)
        // Setup's marking of every page, the explicit sync and complete's: QEMU's dirty-sync-count 3.
        #expect(writerStats.dirtySyncCount == 3)
        #expect(destination.runState == .prelaunch)
    }

    @Test func setupStartsLikeQEMU() throws {
        let machine = try makeMachine(ram: 16 << 20)
        let bytes = try streamBytes { f in try SaveVMWriter(machine: machine, blockMode: .none).writeSetup(f) }
        var expected = StreamBuilder()
        expected.header()
        expected.start(id: 2, "ram", version: 4)
        expected.be64(0x100_0004)
        expected.lstr("ram")
        expected.be64(0x100_0000)
        expected.be64(0x10)
        expected.footer(2)
        #expect(bytes == expected.bytes)
    }

    @Test func endIsQEMUsAndVMDescriptionIs486Bytes() throws {
        let machine = try makeMachine(ram: 64 << 10)
        let bytes = try streamBytes { f in
            let w = SaveVMWriter(machine: machine, blockMode: .none)
            try w.writeSetup(f)
            _ = try w.iterate(f, budget: 1 << 20)
            try w.complete(f, runState: "running")
        }
        #expect(SaveVMWriter.vmDescription.utf8.count == 486)
        var tail = StreamBuilder()
        tail.u8(3); tail.be32(2); tail.be64(0x10); tail.footer(2)
        tail.start(4, id: 0, "timer", version: 2); tail.bytes += [UInt8](repeating: 0, count: 24); tail.footer(0)
        tail.start(4, id: 4, "globalstate", version: 1); tail.be32(8)
        tail.bytes += Array("running".utf8) + [UInt8](repeating: 0, count: 93); tail.footer(4)
        tail.u8(0); tail.u8(6); tail.be32(486)
        tail.bytes += Array(SaveVMWriter.vmDescription.utf8)
        #expect(Array(bytes.suffix(tail.bytes.count)) == tail.bytes)
        // First record names the block; the second continues it.
        let firstPage = bytes.firstIndex(of: 0x7E).map { $0 + 5 + 5 } ?? 0
        #expect(Array(bytes[firstPage..<firstPage + 8]) == [0, 0, 0, 0, 0, 0, 0, 2])
    }

    /// `-b`: a disk whose size is not a multiple of 1 MiB, a chunk dirtied after the bulk phase.
    @Test func blockMigrationMovesTheDisk() throws {
        let dir = TempDir()
        var rng = Random(seed: 3)
        let size = (2 << 20) + 1536
        let sourceImage = dir.write("src.img", rng.bytes(size))
        let destImage = dir.write("dst.img", [UInt8](repeating: 0, count: size))
        let source = try makeMachine(ram: 1 << 20, drives: [DriveConfiguration(path: sourceImage, id: "drive0")])
        let destination = try makeMachine(ram: 1 << 20, drives: [DriveConfiguration(path: destImage, id: "drive0")])
        nonisolated(unsafe) var messages: [String] = []
        let (state, sendError) = try overSocket(send: { fd in
            let f = QEMUFileWriter(fileDescriptor: fd)
            let w = SaveVMWriter(machine: source, blockMode: .full)
            try w.writeSetup(f)
            #expect(w.pendingDiskBytes == UInt64(size))
            while try !w.iterate(f, budget: 512 << 10) {}
            try source.drives[0].write(at: 5, bytes: [9, 9, 9])
            #expect(w.pendingDiskBytes == 1 << 20)
            try w.complete(f, runState: "running")
            #expect(w.statistics.blockProgressPercent == 100)
            #expect(w.statistics.diskTotalBytes == UInt64(size))
        }, receive: { fd in
            try SaveVMLoader(machine: destination).load(QEMUFileReader(fileDescriptor: fd)) { messages.append($0) }
        })
        #expect(sendError == nil)
        #expect(state == "running")
        #expect(TempDir.read(sourceImage) == TempDir.read(destImage))
        #expect(messages == ["Receiving block device images", "Completed 0 %", "Completed 49 %", "Completed 99 %",
                             "Completed 100 %"])
    }

    /// `-i`: only the allocated chunks of a sparse image go; progress counts the holes too (37, 87, 100).
    @Test func incrementalSkipsHoles() throws {
        let dir = TempDir()
        let path = dir.file("sparse.img")
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        ftruncate(fd, 8 << 20)
        var rng = Random(seed: 5)
        for at in [3 << 20, 7 << 20] { _ = rng.bytes(4096).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(at)) } }
        close(fd)
        let destImage = dir.write("dst.img", [UInt8](repeating: 0, count: 8 << 20))
        let source = try makeMachine(ram: 64 << 10, drives: [DriveConfiguration(path: path, id: "virtio0")])
        let destination = try makeMachine(ram: 64 << 10, drives: [DriveConfiguration(path: destImage, id: "virtio0")])
        var messages: [String] = []
        var diskBytes: UInt64 = 0
        let bytes = try streamBytes { f in
            let w = SaveVMWriter(machine: source, blockMode: .incremental)
            try w.writeSetup(f)
            while try !w.iterate(f, budget: 1 << 20) {}
            try w.complete(f, runState: "running")
            diskBytes = w.statistics.diskTransferredBytes
        }
        #expect(diskBytes < 2 * (1 << 20) + 200)
        _ = try load(bytes, into: destination) { messages.append($0) }.get()
        #expect(messages == ["Receiving block device images", "Completed 37 %", "Completed 87 %", "Completed 100 %"])
        #expect(TempDir.read(path) == TempDir.read(destImage))
    }

    @Test func runStateTravels() throws {
        for name in ["running", "paused", "prelaunch"] {
            let source = try makeMachine(ram: 64 << 10)
            let bytes = try streamBytes { f in
                let w = SaveVMWriter(machine: source, blockMode: .none)
                try w.writeSetup(f)
                try w.complete(f, runState: name)
            }
            #expect(try load(bytes, into: try makeMachine(ram: 64 << 10)).get() == name)
        }
    }

    @Test func peerGoneIsAnErrorNotATrap() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        close(fds[1])
        let f = QEMUFileWriter(fileDescriptor: fds[0])
        defer { close(fds[0]) }
        #expect(throws: MigrationError("Unable to write to socket: Broken pipe")) {
            try f.putBytes([UInt8](repeating: 1, count: 8 << 20))
        }
        // Cancel from another thread: shutdown makes the next write fail.
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        shutdown(fds[0], Int32(SHUT_RDWR))
        let g = QEMUFileWriter(fileDescriptor: fds[0])
        #expect(throws: MigrationError.self) { try g.put64(1); try g.flush() }
        close(fds[0]); close(fds[1])
    }
}

@Suite struct ThroughputTests {
    /// The page path allocates nothing per page: 64 MiB of non-zero pages to /dev/null, timed for the report.
    @Test func pagesToDevNull() throws {
        let machine = try makeMachine(ram: 64 << 20)
        _ = machine.ram.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0x5A) }
        let fd = open("/dev/null", O_WRONLY)
        defer { close(fd) }
        let f = QEMUFileWriter(fileDescriptor: fd)
        let w = SaveVMWriter(machine: machine, blockMode: .none)
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try w.writeSetup(f)
            try w.complete(f, runState: "running")
        }
        #expect(w.statistics.normalPages == 16384)
        print("64 MiB of pages written in \(elapsed)")
    }
}
