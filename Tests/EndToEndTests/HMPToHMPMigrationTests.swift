import Foundation
import Testing
import TestSupport

/// Two hmp processes on this machine: a source with a running workload and a destination started with
/// -incoming and -S, so that its RAM can be compared with pmemsave before it runs. Every completed migration is
/// checked byte for byte.
@Suite(.serialized) struct HMPToHMPMigrationTests {
    let scratch = TempDir()

    /// A source with 32 MiB of patterned RAM, one 8 MiB disk, and a workload dirtying both.
    func source(_ extra: [String] = [], workload: String = "ram=8M,disk=1M") throws -> HMPProcess {
        let ram = scratch.patternFile("source-ram.bin", size: 32 << 20, seed: 7)
        let disk = scratch.patternFile("source.img", size: 8 << 20, seed: 9)
        return try HMPProcess(["-m", "32", "-mem-path", ram, "-drive", "file=\(disk),id=drive0",
                               "-workload", workload] + extra)
    }

    func destination(_ incoming: String, disk: Bool = true) throws -> HMPProcess {
        var arguments = ["-m", "32", "-S", "-incoming", incoming]
        if disk {
            try Data(count: 8 << 20).write(to: URL(fileURLWithPath: scratch.file("dest.img")))
            arguments += ["-drive", "file=\(scratch.file("dest.img")),id=drive0"]
        }
        return try HMPProcess(arguments)
    }

    /// A destination listening on a free port and a source whose max-bandwidth is `bandwidth`.
    func pair(bandwidth: String) throws -> (source: HMPProcess, destination: HMPProcess, port: Int) {
        let port = freePort()
        let dst = try destination("tcp:127.0.0.1:\(port)")
        _ = dst.run("info status")
        let src = try source()
        _ = src.run("migrate_set_parameter max-bandwidth \(bandwidth)")
        return (src, dst, port)
    }

    /// What a command printed, without the destination's progress lines that stdout interleaves with it.
    func answer(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("Receiving block device images") && !$0.hasPrefix("Completed ") }
            .joined(separator: "\n")
    }

    /// RAM on both sides (pmemsave) and the disks (cmp) are the same bytes.
    func expectSameMachine(_ source: HMPProcess, _ destination: HMPProcess, disks: Bool = true) {
        let a = scratch.file("a.ram"), b = scratch.file("b.ram")
        #expect(source.run("pmemsave 0 0x2000000 \"\(a)\"") == "")
        #expect(answer(destination.run("pmemsave 0 0x2000000 \"\(b)\"")) == "")
        #expect(sameBytes(a, b), "guest RAM differs between source and destination")
        if disks { #expect(sameBytes(scratch.file("source.img"), scratch.file("dest.img")), "disks differ") }
    }

    @Test func blockMigrationOverTCPWithAWorkloadMovesEverything() throws {
        let port = freePort()
        let dst = try destination("tcp:0:\(port)")
        #expect(dst.run("info status") == "VM status: paused (inmigrate)\n")
        let src = try source()
        let out = src.run("migrate -b tcp:127.0.0.1:\(port)", timeout: 120)
        #expect(out.contains("Completed "), "QEMU's progress lines: \(out)")
        #expect(out.utf8.last == UInt8(ascii: "\n"), "the progress line is ended")
        let info = src.run("info migrate")
        #expect(info.contains("Migration status: completed\n"), "\(info)")
        #expect(info.contains("downtime: "))
        #expect(src.run("info status") == "VM status: paused (postmigrate)\n")
        dst.waitFor { $0.contains("Completed 100 %\n") }
        #expect(dst.text.contains("Receiving block device images\n"))
        #expect(dst.text.contains("Completed 0 %\r"), "the destination counts up as QEMU's does")
        // The disks finish before the device state: the load is whole only after that.
        dst.waitFor { _ in answer(dst.run("info status")) != "VM status: paused (inmigrate)\n" }
        #expect(answer(dst.run("info status")) == "VM status: paused\n", "-S keeps the destination paused")
        expectSameMachine(src, dst)
        #expect(dst.run("cont") == "")
        #expect(dst.run("info status") == "VM status: running\n")
    }

    @Test func ramOnlyOverUnixSocketAndIPv6() throws {
        let path = scratch.file("migrate.sock")
        let dst = try destination("unix:\(path)", disk: false)
        _ = dst.run("info status")
        let src = try source()
        #expect(src.run("migrate unix:\(path)", timeout: 120) == "", "RAM-only migration prints nothing, as QEMU's")
        #expect(src.run("info migrate").contains("Migration status: completed"))
        expectSameMachine(src, dst, disks: false)

        let port = freePort()
        let dst6 = try destination("tcp:[::1]:\(port)", disk: false)
        _ = dst6.run("info status")
        let src6 = try source()
        #expect(src6.run("migrate tcp:[::1]:\(port)", timeout: 120) == "")
        expectSameMachine(src6, dst6, disks: false)
    }

    @Test func incrementalCopiesOnlyWhatTheSparseDiskHolds() throws {
        // The base both sides share is all zeros; the source wrote two extents over it.
        let sparse = scratch.file("source.img")
        try Data().write(to: URL(fileURLWithPath: sparse))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: sparse))
        try handle.truncate(atOffset: 8 << 20)
        try handle.seek(toOffset: 3 << 20)
        try handle.write(contentsOf: Data(repeating: 0xAB, count: 4096))
        try handle.seek(toOffset: 7 << 20)
        try handle.write(contentsOf: Data(repeating: 0xCD, count: 65536))
        try handle.close()
        let port = freePort()
        let dst = try destination("tcp:127.0.0.1:\(port)")
        _ = dst.run("info status")
        let ram = scratch.patternFile("source-ram.bin", size: 32 << 20, seed: 7)
        let src = try HMPProcess(["-m", "32", "-mem-path", ram, "-drive", "file=\(sparse),id=drive0"])
        _ = src.run("migrate -i tcp:127.0.0.1:\(port)", timeout: 60)
        let info = src.run("info migrate")
        #expect(info.contains("Migration status: completed"), "\(info)")
        let ramSent = info.split(separator: "\n").first { $0.hasPrefix("transferred ram: ") }
            .flatMap { Int($0.dropFirst("transferred ram: ".count).split(separator: " ")[0]) } ?? -1
        #expect(ramSent > 0)
        dst.waitFor { _ in answer(dst.run("info status")) == "VM status: paused\n" }
        #expect(dst.text.contains("Completed 37 %\r"), "only the allocated chunks were sent: \(dst.text)")
        expectSameMachine(src, dst)
    }

    @Test func deferredIncomingListensWhenAsked() throws {
        let port = freePort()
        let dst = try destination("defer", disk: false)
        #expect(dst.run("info status") == "VM status: paused (inmigrate)\n")
        #expect(dst.run("migrate_incoming tcp:127.0.0.1:\(port)") == "")
        #expect(dst.run("migrate_incoming tcp:127.0.0.1:\(port)")
            == "Error: The incoming migration has already been started\n")
        let src = try source()
        #expect(src.run("migrate tcp:127.0.0.1:\(port)", timeout: 60) == "")
        dst.waitFor { _ in dst.run("info status") == "VM status: paused\n" }
        expectSameMachine(src, dst, disks: false)
    }

    @Test func execCarriesTheStreamThroughAFile() throws {
        let stream = scratch.file("vm.state")
        let src = try source([], workload: "ram=4M")
        #expect(src.run("migrate \"exec:cat > \(stream)\"", timeout: 120) == "")
        #expect(src.run("info migrate").contains("Migration status: completed"))
        let dst = try destination("exec:cat \(stream)", disk: false)
        dst.waitFor { _ in dst.run("info status") == "VM status: paused\n" }
        expectSameMachine(src, dst, disks: false)
    }

    @Test func refusedConnectionIsAClearErrorAndTheGuestRunsOn() throws {
        let src = try source()
        let port = freePort()
        let out = src.run("migrate tcp:127.0.0.1:\(port)")
        #expect(out == "Error: Failed to connect to '127.0.0.1:\(port)': Connection refused\n", "\(out)")
        #expect(src.run("info status") == "VM status: running\n")
        #expect(src.run("info migrate").contains("Migration status: failed (Failed to connect to"))
    }

    @Test func badRequestsAreRefusedBeforeAnythingStarts() throws {
        let plain = try source()
        #expect(plain.run("migrate foo:bar") == "Error: Parameter 'uri' expects a valid migration protocol\n")
        let src = try source(["-device", "nomigrate"])
        #expect(src.run("migrate -d tcp:127.0.0.1:1")
            == "Error: State blocked by non-migratable device 'nomigrate'\n")
        #expect(src.run("migrate_incoming tcp:0:1") == "Error: '-incoming' was not specified on the command line\n")
        #expect(src.run("info status") == "VM status: running\n")
    }

    @Test func secondMigrateIsRefusedAndCancelLeavesTheGuestRunning() throws {
        let (src, dst, port) = try pair(bandwidth: "1M")
        defer { withExtendedLifetime(dst) {} }
        #expect(src.run("migrate -d -b tcp:127.0.0.1:\(port)") == "")
        #expect(src.run("migrate -d tcp:127.0.0.1:\(port)") == "Error: There's a migration process in progress\n")
        usleep(300_000)
        let active = src.run("info migrate")
        #expect(active.contains("Migration status: active"), "\(active)")
        #expect(active.contains("transferred disk: "))
        #expect(src.run("migrate_cancel") == "")
        src.waitFor(timeout: 10) { _ in src.run("info migrate").contains("Migration status: cancelled") }
        #expect(src.run("info status") == "VM status: running\n")
    }

    @Test func bandwidthAndDowntimeChangesTakeEffectWhileRunning() throws {
        let (src, dst, port) = try pair(bandwidth: "1M")
        #expect(src.run("migrate -d -b tcp:127.0.0.1:\(port)") == "")
        // Over two seconds the stream moves about 1 MiB a second (a disk chunk is 1 MiB, so allow some slack).
        func sent() -> Int {
            let info = src.run("info migrate")
            return ["transferred ram: ", "transferred disk: "].map { label in
                info.split(separator: "\n").first { $0.hasPrefix(label) }
                    .flatMap { Int($0.dropFirst(label.count).split(separator: " ")[0]) } ?? 0
            }.reduce(0, +)
        }
        usleep(500_000)
        let before = sent()
        usleep(2_000_000)
        let rate = Double(sent() - before) / 2 / 1024
        #expect(src.run("info migrate").contains("Migration status: active"))
        #expect(rate > 0.3 && rate < 2.5, "max-bandwidth 1M holds the stream to about 1 MiB/s: \(rate) MiB/s")
        _ = src.run("migrate_set_parameter downtime-limit 100")
        _ = src.run("migrate_set_parameter max-bandwidth 1G")
        src.waitFor(timeout: 30) { _ in src.run("info migrate").contains("Migration status: completed") }
        let done = src.run("info migrate")
        #expect(done.contains("Migration status: completed"), "\(done)")
        let downtime = done.split(separator: "\n").first { $0.hasPrefix("downtime: ") }
            .flatMap { Int($0.dropFirst("downtime: ".count).split(separator: " ")[0]) } ?? -1
        #expect(downtime >= 0 && downtime <= 100, "downtime stays within downtime-limit: \(downtime) ms")
        dst.waitFor { _ in answer(dst.run("info status")) == "VM status: paused\n" }
        expectSameMachine(src, dst)
    }

    @Test func destinationDyingFailsTheSourceAndARetrySucceeds() throws {
        let (src, dst, port) = try pair(bandwidth: "2M")
        #expect(src.run("migrate -d -b tcp:127.0.0.1:\(port)") == "")
        usleep(500_000)
        dst.process.interrupt()
        kill(dst.process.processIdentifier, SIGKILL)
        src.waitFor(timeout: 20) { _ in src.run("info migrate").contains("Migration status: failed") }
        #expect(src.run("info migrate").contains("Migration status: failed ("))
        #expect(src.run("info status") == "VM status: running\n")

        let port2 = freePort()
        let dst2 = try destination("tcp:127.0.0.1:\(port2)")
        _ = dst2.run("info status")
        _ = src.run("migrate_set_parameter max-bandwidth 1G")
        _ = src.run("migrate -b tcp:127.0.0.1:\(port2)", timeout: 120)
        #expect(src.run("info migrate").contains("Migration status: completed"))
        expectSameMachine(src, dst2)
    }

    @Test(arguments: [
        ("garbage", "Not a migration stream"),
        ("QEVM\u{0}\u{0}\u{0}\u{4}", "Unsupported migration stream version"),
        ("QEVM\u{0}\u{0}\u{0}\u{3}\u{7}\u{0}\u{0}\u{0}\u{2}pc", "Machine type received is 'pc' and local is 'none'"),
        ("QEVM\u{0}\u{0}\u{0}\u{3}\u{7}\u{0}\u{0}\u{0}\u{4}none\u{9}", "Unknown savevm section type 9"),
        ("QEVM\u{0}\u{0}\u{0}\u{3}\u{7}\u{0}\u{0}\u{0}\u{4}none\u{1}\u{0}", ""),
    ] as [(ArgumentText, String)])
    func malformedStreamsAreClearErrorsAndTheGuestNeverStarts(stream: ArgumentText, message: String) throws {
        let file = scratch.file("bad.state")
        try Data(stream.value.utf8).write(to: URL(fileURLWithPath: file))
        let dst = try HMPProcess(["-m", "16", "-incoming", "exec:cat \(file)"])
        #expect(dst.waitForExit(timeout: 20) == 1, "a failed load ends hmp with status 1, as QEMU's")
        #expect(dst.errorText.contains("load of migration failed"), "\(dst.errorText)")
        if !message.isEmpty { #expect(dst.errorText.contains(message), "\(dst.errorText)") }
        #expect(!dst.text.contains("VM status: running"))
    }
}
