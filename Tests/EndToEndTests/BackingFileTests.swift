import Foundation
import Testing
import TestSupport

/// Files that shrink under a running guest: hmp no longer reads a -mem-path file after start-up, and a drive that
/// shrinks reads as zeros past its end, so neither can end hmp with a signal; status, pmemsave and a migration go on.
@Suite(.serialized) struct BackingFileTests {
    let scratch = TempDir()

    func destination(port: Int, disk: Bool) throws -> HMPProcess {
        var arguments = ["-m", "32", "-S", "-incoming", "tcp:127.0.0.1:\(port)"]
        if disk {
            try Data(count: 8 << 20).write(to: URL(fileURLWithPath: scratch.file("dest.img")))
            arguments += ["-drive", "file=\(scratch.file("dest.img")),id=drive0"]
        }
        let dst = try HMPProcess(arguments)
        _ = dst.run("info status")
        return dst
    }

    func expectSameRAM(_ src: HMPProcess, _ dst: HMPProcess) {
        let a = scratch.file("a.ram"), b = scratch.file("b.ram")
        #expect(src.run("pmemsave 0 0x2000000 \"\(a)\"") == "")
        _ = dst.run("pmemsave 0 0x2000000 \"\(b)\"")
        #expect(sameBytes(a, b), "guest RAM differs between source and destination")
    }

    @Test func truncatingTheMemPathFileUnderARunningGuest() throws {
        let ram = scratch.patternFile("ram.bin", size: 32 << 20, seed: 3)
        let src = try HMPProcess(["-m", "32", "-mem-path", ram, "-workload", "ram=16M"])
        #expect(src.run("info status") == "VM status: running\n")
        #expect(truncate(ram, 0) == 0)
        usleep(300_000)
        #expect(src.run("info status") == "VM status: running\n")
        let page = scratch.file("page.bin")
        #expect(src.run("pmemsave 0x1000000 4096 \"\(page)\"") == "")
        #expect(FileManager.default.contents(atPath: page)?.count == 4096)
        let port = freePort()
        let dst = try destination(port: port, disk: false)
        #expect(src.run("migrate tcp:127.0.0.1:\(port)", timeout: 60) == "")
        #expect(src.run("info migrate").contains("Migration status: completed\n"))
        dst.waitFor { _ in dst.run("info status") == "VM status: paused\n" }
        expectSameRAM(src, dst)
        #expect(src.process.isRunning)
        #expect((try? FileManager.default.attributesOfItem(atPath: ram)[.size] as? Int) == 0, "the file is not written")
        #expect(src.errorText.contains("-mem-path file '\(ram)' shrank under the running guest"), "\(src.errorText)")
    }

    /// The destination's disk holds what the source's guest sees: the file as it is now, zeros past its end.
    func expectDestinationDiskIsWhatTheGuestSees(_ disk: String) {
        var seen = FileManager.default.contents(atPath: disk) ?? Data()
        #expect(seen.count <= 8 << 20)
        seen.append(Data(count: (8 << 20) - seen.count))
        #expect(FileManager.default.contents(atPath: scratch.file("dest.img")) == seen, "disks differ")
    }

    func migrateAndWait(_ src: HMPProcess, _ dst: HMPProcess) {
        // Only an end state ends the wait: `setup` (and anything else still running) is not finished.
        let ends = ["completed", "failed", "cancelled"].map { "Migration status: \($0)\n" }
        src.waitFor(timeout: 60) { _ in
            let info = src.run("info migrate")
            return ends.contains { info.contains($0) }
        }
        let info = src.run("info migrate")
        #expect(info.contains("Migration status: completed\n"), "\(info)")
        #expect(src.process.isRunning)
        #expect(src.run("info status") == "VM status: paused (postmigrate)\n")
        dst.waitFor { _ in dst.run("info status").hasSuffix("VM status: paused\n") }
    }

    @Test func aDriveThatShrinksUnderARunningGuest() throws {
        let disk = scratch.patternFile("source.img", size: 8 << 20, seed: 5)
        let src = try HMPProcess(["-m", "32", "-drive", "file=\(disk),id=drive0", "-workload", "ram=1M,disk=4M"])
        #expect(truncate(disk, 0) == 0)
        usleep(300_000)
        #expect(src.run("info status") == "VM status: running\n")
        #expect(src.run("pmemsave 0 4096 \"\(scratch.file("page.bin"))\"") == "")
        let port = freePort()
        let dst = try destination(port: port, disk: true)
        #expect(src.run("migrate_set_parameter max-bandwidth 0") == "")
        #expect(src.run("migrate -d -b tcp:127.0.0.1:\(port)") == "")
        migrateAndWait(src, dst)
        expectDestinationDiskIsWhatTheGuestSees(disk)
        expectSameRAM(src, dst)
    }

    @Test func aDriveThatShrinksDuringBlockMigration() throws {
        let disk = scratch.patternFile("source.img", size: 8 << 20, seed: 5)
        // No disk workload: its writes would grow the file again between two of hmp's looks at its size.
        let src = try HMPProcess(["-m", "32", "-drive", "file=\(disk),id=drive0", "-workload", "ram=1M"])
        let port = freePort()
        let dst = try destination(port: port, disk: true)
        // Slow enough that the drive shrinks while its chunks go out.
        #expect(src.run("migrate_set_parameter max-bandwidth 4M") == "")
        #expect(src.run("migrate -d -b tcp:127.0.0.1:\(port)") == "")
        usleep(700_000)
        #expect(truncate(disk, 1 << 20) == 0)
        usleep(200_000)
        #expect(src.run("migrate_set_parameter max-bandwidth 0") == "")
        migrateAndWait(src, dst)
        expectDestinationDiskIsWhatTheGuestSees(disk)
        expectSameRAM(src, dst)
    }
}
