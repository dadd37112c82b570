import Foundation
import Testing
import TestSupport

/// Settings as QEMU 7.2 takes them (checked against qemu-system-x86_64 7.2): max-bandwidth 0 is no limit, a
/// capability cannot change while a migration runs, and hmp refuses to turn on one its engine would ignore.
@Suite(.serialized) struct MigrationSettingsAsQEMUTests {
    let scratch = TempDir()

    @Test func maxBandwidthZeroIsNoLimit() throws {
        let port = freePort()
        let dst = try HMPProcess(["-m", "256", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        _ = dst.run("info status")
        let src = try HMPProcess(["-m", "256", "-workload", "ram=8M"])
        #expect(src.run("migrate_set_parameter max-bandwidth 0") == "")
        #expect(src.run("info migrate_parameters").contains("max-bandwidth: 0 bytes/second\n"))
        let started = Date()
        #expect(src.run("migrate tcp:127.0.0.1:\(port)", timeout: 60) == "")
        let elapsed = Date().timeIntervalSince(started)
        #expect(src.run("info migrate").contains("Migration status: completed\n"))
        // 0 is no limit in QEMU 7.2, not a rate of nothing: the migration must end, and quickly.
        #expect(elapsed < 20, "took \(elapsed) s")
        dst.waitFor { _ in dst.run("info status") == "VM status: paused\n" }
        let a = scratch.file("a.ram"), b = scratch.file("b.ram")
        #expect(src.run("pmemsave 0 0x10000000 \"\(a)\"") == "")
        #expect(dst.run("pmemsave 0 0x10000000 \"\(b)\"") == "")
        #expect(sameBytes(a, b))
    }

    @Test func capabilitiesAreRefusedWhileAMigrationRuns() throws {
        let src = try HMPProcess(["-m", "64", "-workload", "ram=8M"])
        #expect(src.run("migrate_set_parameter max-bandwidth 1") == "")
        #expect(src.run("migrate -d \"exec:cat > /dev/null\"") == "")
        // Setup (starting the exec: child) may outlast the command on a loaded machine.
        src.waitFor { _ in !src.run("info migrate").contains("Migration status: setup\n") }
        #expect(src.run("info migrate").contains("Migration status: active\n"))
        #expect(src.run("migrate_set_capability block on") == "Error: There's a migration process in progress\n")
        #expect(src.run("migrate_set_capability events off") == "Error: There's a migration process in progress\n")
        #expect(src.run("migrate_cancel") == "")
        src.waitFor { _ in !src.run("info migrate").contains("Migration status: active") }
        #expect(src.run("migrate_set_capability events on") == "")
    }

    @Test func unimplementedCapabilitiesAreRefusedNotIgnored() throws {
        let hmp = try HMPProcess(["-m", "16"])
        for name in ["xbzrle", "postcopy-ram", "multifd", "zero-blocks", "compress"] {
            #expect(hmp.run("migrate_set_capability \(name) on")
                == "Error: capability '\(name)' is not supported by hmp's built-in machine\n")
            #expect(hmp.run("migrate_set_capability \(name) off") == "")
        }
        #expect(hmp.run("migrate_set_capability block on") == "")
        #expect(hmp.run("migrate_set_capability events on") == "")
        #expect(hmp.run("migrate_set_capability auto-converge on") == "", "the workload is throttled as QEMU's vCPUs")
        #expect(hmp.run("migrate_set_capability nosuch on") == "Error: invalid parameter value: nosuch\n")
        let info = hmp.run("info migrate_capabilities")
        #expect(info.split(separator: "\n").count == 21, "all of QEMU's names are listed")
        #expect(info.hasPrefix("xbzrle: off\n"))
        #expect(info.contains("\nevents: on\n") && info.contains("\nblock: on\n"))
        #expect(info.contains("\nauto-converge: on\n"))
    }

    @Test func pmemsaveCreatesItsFilePrivateWhateverTheUmask() throws {
        let path = scratch.file("ram.bin")
        let existing = scratch.file("existing.bin")
        #expect(FileManager.default.createFile(atPath: existing, contents: Data([1, 2, 3])))
        chmod(existing, 0o644)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask 000; exec \"$0\" -m 16", hmpBinary]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Leftovers.add(pid: process.processIdentifier)
        input.fileHandleForWriting.write(
            "pmemsave 0 4096 \"\(path)\"\npmemsave 0 4096 \"\(existing)\"\nquit\n".data(using: .utf8)!)
        process.waitUntilExit()
        Leftovers.remove(pid: process.processIdentifier)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600, "mode \(String(st.st_mode & 0o777, radix: 8))")
        #expect(st.st_size == 4096)
        #expect(stat(existing, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o644, "an existing file keeps its mode")
        #expect(st.st_size == 4096)
    }
}
