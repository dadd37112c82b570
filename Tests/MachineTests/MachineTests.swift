import Glibc
import Machine
import Testing
import TestSupport

@Suite struct GuestRAMTests {
    @Test func anonymousRAMReadsBackAndMarksPages() throws {
        let ram = try GuestRAM(size: 1 << 20)
        #expect(ram.pageCount == 256)
        #expect(ram.dirtyPageCount == 0)
        try ram.write(at: 4095, bytes: [1, 2, 3])
        #expect(try ram.read(at: 4095, count: 3) == [1, 2, 3])
        #expect(ram.dirty.isDirty(0) && ram.dirty.isDirty(1) && !ram.dirty.isDirty(2))
        #expect(ram.dirtyPageCount == 2)
        #expect(throws: MachineError.ramAccessOutOfRange(address: (1 << 20) - 1, size: 2, ramSize: 1 << 20)) {
            try ram.write(at: (1 << 20) - 1, bytes: [0, 0])
        }
        #expect(throws: MachineError.self) { try ram.read(at: UInt64.max, count: 2) }
    }

    @Test func sizeIsRoundedToPages() throws {
        #expect(try GuestRAM(size: 5000).size == 8192)
    }

    @Test func memPathContentIsLoadedAndNeverWrittenBack() throws {
        let dir = TempDir()
        let content = pattern(64 << 10)
        let path = dir.write("ram.bin", content)
        let ram = try GuestRAM(size: 64 << 10, memPath: path)
        #expect(try ram.read(at: 0, count: content.count) == content)
        try ram.write(at: 100, bytes: [UInt8](repeating: 0xEE, count: 5000))
        #expect(try ram.read(at: 100, count: 1) == [0xEE])
        #expect(TempDir.read(path) == content)
    }

    @Test func memPathTooSmall() throws {
        let dir = TempDir()
        let path = dir.write("small.bin", pattern(4096))
        #expect(throws: MachineError.memPathTooSmall(path: path, fileSize: 4096, ramSize: 8192)) {
            try GuestRAM(size: 8192, memPath: path)
        }
        #expect(throws: MachineError.cannotOpenMemPath(path: dir.file("none"), errno: ENOENT)) {
            try GuestRAM(size: 8192, memPath: dir.file("none"))
        }
    }
}

@Suite struct DirtyBitmapTests {
    @Test func markTestAndClear() {
        let b = DirtyBitmap(bitCount: 130)
        #expect(b.wordCount == 3)
        b.mark(0)
        b.mark(129)
        b.mark(60..<70)
        #expect(b.dirtyCount == 12)
        #expect(b.testAndClear(129))
        #expect(!b.testAndClear(129))
        #expect(b.dirtyCount == 11)
    }

    @Test func drainMovesBitsAndClears() {
        let b = DirtyBitmap(bitCount: 200)
        b.mark(3)
        b.mark(150)
        var target = [UInt64](repeating: 0, count: b.wordCount)
        target[0] = 1 << 3  // already pending in the engine: not counted again
        #expect(b.drain(into: &target) == 1)
        #expect(target[0] == 1 << 3 && target[2] == 1 << (150 - 128))
        #expect(b.dirtyCount == 0)
        b.setAll()
        #expect(b.dirtyCount == 200)
        var seen: [Int] = []
        b.forEachDirtyClearing { seen.append($0) }
        #expect(seen == Array(0..<200))
        #expect(b.dirtyCount == 0)
    }

    @Test func concurrentMarksAreNotLost() async {
        let b = DirtyBitmap(bitCount: 4096)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask { for i in stride(from: t, to: 4096, by: 4) { b.mark(i) } }
            }
        }
        #expect(b.dirtyCount == 4096)
    }
}

@Suite struct DriveTests {
    @Test func preadPwriteReachTheFile() throws {
        let dir = TempDir()
        let path = dir.write("d.img", [UInt8](repeating: 0, count: 3 << 20))
        let drive = try Drive(configuration: DriveConfiguration(path: path, id: "d0"))
        #expect(drive.size == 3 << 20)
        #expect(drive.chunkCount == 3)
        try drive.write(at: (1 << 20) - 2, bytes: [9, 8, 7, 6])
        #expect(try drive.read(at: (1 << 20) - 2, count: 4) == [9, 8, 7, 6])
        #expect(Array(TempDir.read(path)[((1 << 20) - 2)..<((1 << 20) + 2)]) == [9, 8, 7, 6])
        #expect(drive.dirty.isDirty(0) && drive.dirty.isDirty(1) && !drive.dirty.isDirty(2))
        #expect(throws: MachineError.driveAccessOutOfRange(id: "d0", offset: 3 << 20, size: 1, driveSize: 3 << 20)) {
            try drive.write(at: 3 << 20, bytes: [1])
        }
    }

    @Test func readOnlyDriveRefusesWrites() throws {
        let dir = TempDir()
        let path = dir.write("ro.img", pattern(8192))
        let drive = try Drive(configuration: DriveConfiguration(path: path, id: "ro", readOnly: true))
        #expect(try drive.read(at: 10, count: 3) == Array(pattern(8192)[10..<13]))
        #expect(throws: MachineError.driveReadOnly(id: "ro")) { try drive.write(at: 0, bytes: [1]) }
        #expect(drive.dirtyChunkCount == 0)
    }

    @Test func missingFile() {
        #expect(throws: MachineError.cannotOpenDrive(path: "/nonexistent/x.img", errno: ENOENT)) {
            try Drive(configuration: DriveConfiguration(path: "/nonexistent/x.img", id: "x"))
        }
    }
}

@Suite struct MachineBehaviourTests {
    @Test func runStates() throws {
        let m = try Machine(configuration: MachineConfiguration(ramSize: 1 << 20, startPaused: true))
        #expect(m.runState == .prelaunch)
        m.stop()
        #expect(m.runState == .prelaunch)
        try m.start()
        #expect(m.runState == .running)
        m.stop()
        #expect(m.runState == .paused)
        m.setRunState(.postmigrate)
        #expect(m.runState == .postmigrate)
        m.setRunState(.finishMigrate)
        #expect(throws: MachineError.cannotContinue(reason: "Migration is not finalized yet")) { try m.start() }
        m.shutdown()
        #expect(throws: MachineError.self) { try m.start() }
    }

    @Test func startsRunningWithoutDashS_andInmigrateWithIncoming() throws {
        #expect(try Machine(configuration: MachineConfiguration(ramSize: 1 << 20)).runState == .running)
        let m = try Machine(configuration: MachineConfiguration(ramSize: 1 << 20, incoming: "tcp:0:4444"))
        #expect(m.runState == .inmigrate)
        try m.start()
        #expect(m.runState == .inmigrate)
        #expect(m.withLock { $0.autostart })
        m.stop()
        #expect(!m.withLock { $0.autostart })
    }

    @Test func badInputFailsBeforeAnythingIsOpened() throws {
        let dir = TempDir()
        let good = dir.write("good.img", pattern(4096))
        let config = MachineConfiguration(
            ramSize: 1 << 20,
            drives: [DriveConfiguration(path: good, id: "a"), DriveConfiguration(path: good, id: "a")])
        #expect(throws: MachineError.duplicateDriveID(id: "a")) { try Machine(configuration: config) }
        let missing = MachineConfiguration(ramSize: 1 << 20, drives: [DriveConfiguration(path: dir.file("no.img"), id: "a")])
        #expect(throws: MachineError.cannotOpenDrive(path: dir.file("no.img"), errno: ENOENT)) {
            try Machine(configuration: missing)
        }
        #expect(access(dir.file("no.img"), F_OK) != 0)
    }

    @Test func pmemsaveWritesRAM() throws {
        let dir = TempDir()
        let m = try Machine(configuration: MachineConfiguration(ramSize: 64 << 10, startPaused: true))
        let bytes = pattern(10000, seed: 7)
        try m.ram.write(at: 1000, bytes: bytes)
        let out = dir.file("pm.bin")
        try m.pmemsave(address: 1000, size: 10000, path: out)
        #expect(TempDir.read(out) == bytes)
        try m.pmemsave(address: 0, size: 64 << 10, path: out)
        #expect(TempDir.read(out) == (try m.ram.read(at: 0, count: 64 << 10)))
        let outside = dir.file("pm2.bin")
        #expect(throws: MachineError.ramAccessOutOfRange(address: 0x7fff_ff00, size: 4096, ramSize: 64 << 10)) {
            try m.pmemsave(address: 0x7fff_ff00, size: 4096, path: outside)
        }
        #expect(access(outside, F_OK) != 0)
        #expect(throws: MachineError.self) { try m.pmemsave(address: 1, size: UInt64.max, path: outside) }
    }

    @Test func drivesKeepTheirConfiguration() throws {
        let dir = TempDir()
        let d = dir.write("d.img", pattern(4096))
        let m = try Machine(configuration: MachineConfiguration(
            ramSize: 1 << 20,
            drives: [DriveConfiguration(path: d, id: "drive0"), DriveConfiguration(path: d, id: "ro", readOnly: true)]))
        #expect(m.drives.map(\.id) == ["drive0", "ro"])
        #expect(m.drives.map(\.readOnly) == [false, true])
        #expect(m.drives.allSatisfy { $0.path == d && $0.format == "raw" && $0.size == 4096 })
    }

    @Test func migrationBlockers() throws {
        let m = try Machine(configuration: MachineConfiguration(ramSize: 1 << 20))
        #expect(m.migrationBlockers == [])
        m.addMigrationBlocker("nomigrate device")
        #expect(m.migrationBlockers == ["nomigrate device"])
        m.removeMigrationBlocker("nomigrate device")
        #expect(m.migrationBlockers == [])
    }

    @Test func workloadDirtiesOnlyWhileRunning() throws {
        let dir = TempDir()
        let disk = dir.write("w.img", [UInt8](repeating: 0, count: 4 << 20))
        let ro = dir.write("ro.img", [UInt8](repeating: 0, count: 4 << 20))
        let m = try Machine(configuration: MachineConfiguration(
            ramSize: 16 << 20,
            drives: [DriveConfiguration(path: disk, id: "w"), DriveConfiguration(path: ro, id: "ro", readOnly: true)],
            startPaused: true,
            workload: WorkloadRates(ramBytesPerSecond: 8 << 20, diskBytesPerSecond: 2 << 20)))
        sleepMilliseconds(60)
        #expect(m.ram.dirtyPageCount == 0)
        #expect(m.drives[0].dirtyChunkCount == 0)

        try m.start()
        var waited = 0
        while (m.ram.dirtyPageCount == 0 || m.drives[0].dirtyChunkCount == 0) && waited < 2000 {
            sleepMilliseconds(20)
            waited += 20
        }
        #expect(m.ram.dirtyPageCount > 0)
        #expect(m.drives[0].dirtyChunkCount > 0)
        #expect(m.drives[1].dirtyChunkCount == 0)
        #expect(TempDir.read(disk).contains { $0 != 0 })

        m.stop()
        let ramWritten = m.workload!.ramBytesWritten
        let diskWritten = m.workload!.diskBytesWritten
        m.ram.dirty.clearAll()
        m.drives[0].dirty.clearAll()
        sleepMilliseconds(60)
        #expect(m.workload!.ramBytesWritten == ramWritten)
        #expect(m.workload!.diskBytesWritten == diskWritten)
        #expect(m.ram.dirtyPageCount == 0)
        #expect(m.drives[0].dirtyChunkCount == 0)

        m.shutdown()
        #expect(m.workload!.mode == .stopped)
    }
}
