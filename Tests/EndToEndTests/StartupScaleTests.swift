import Foundation
import Testing
import TestSupport

/// A huge guest costs what it writes: a `-m 64G` destination listens at once with a small RSS, and a 64 GiB source
/// whose workload stays in 16 MiB migrates to it quickly, its never-written pages sent as zero records unread.
@Suite(.serialized) struct StartupScaleTests {
    let scratch = TempDir()

    @Test func a64GiBDestinationListensAtOnceAndTakesASmallMigration() throws {
        let port = freePort()
        let started = Date()
        let dst = try HMPProcess(["-m", "64G", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        var listening = false
        while Date().timeIntervalSince(started) < 5 {
            if isListening(port: port) { listening = true; break }
            usleep(5_000)
        }
        let listenTime = Date().timeIntervalSince(started)
        #expect(listening && listenTime < 1, "listening after \(listenTime) s")
        let rss = residentBytes(dst.process.processIdentifier)
        #expect(rss > 0 && rss < 256 << 20, "a 64 GiB destination resident at \(rss >> 20) MiB")
        print("-m 64G -incoming: listening after \(Int(listenTime * 1000)) ms, RSS \(rss >> 20) MiB")

        let src = try HMPProcess(["-m", "64G", "-workload", "ram=8M,region=16M"])
        #expect(src.run("migrate_set_parameter max-bandwidth 0") == "")
        let clock = Date()
        #expect(src.run("migrate tcp:127.0.0.1:\(port)", timeout: 300) == "")
        let elapsed = Date().timeIntervalSince(clock)
        let info = src.run("info migrate")
        #expect(info.contains("Migration status: completed\n"), "\(info)")
        print("64 GiB migration with 16 MiB written: \(Int(elapsed * 1000)) ms")
        #expect(elapsed < 120)
        dst.waitFor(timeout: 60) { _ in dst.run("info status") == "VM status: paused\n" }
        #expect(dst.run("info status") == "VM status: paused\n")

        // The written region, and samples far from it, byte for byte; never a 64 GiB file.
        for (address, size) in [(0, 16 << 20), (32 << 30, 1 << 20), ((64 << 30) - (1 << 20), 1 << 20)] {
            let a = scratch.file("src-\(address).ram"), b = scratch.file("dst-\(address).ram")
            #expect(src.run("pmemsave \(address) \(size) \"\(a)\"") == "")
            #expect(dst.run("pmemsave \(address) \(size) \"\(b)\"") == "")
            #expect(sameBytes(a, b), "guest RAM differs at \(address)")
        }
        let written = FileManager.default.contents(atPath: scratch.file("src-0.ram")) ?? Data()
        #expect(written.contains { $0 != 0 }, "the workload wrote into its region")
        let after = residentBytes(dst.process.processIdentifier)
        #expect(after < 1 << 30, "the destination grew to \(after >> 20) MiB for 16 MiB written")
        print("destination RSS after the migration: \(after >> 20) MiB")
    }
}

/// Whether something listens on 127.0.0.1:`port`, from /proc/net/tcp: connecting would start the migration.
func isListening(port: Int) -> Bool {
    guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
    let local = String(format: ":%04X", port)
    return table.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ")
        return fields.count > 3 && fields[1].hasSuffix(local) && fields[3] == "0A"
    }
}

/// VmRSS of process `pid`, in bytes.
func residentBytes(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return -1 }
    return kib << 10
}
