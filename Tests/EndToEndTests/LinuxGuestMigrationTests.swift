import Foundation
import Glibc
import Testing
import TestSupport

/// `migrate -b` of a real Linux guest (LinuxGuest: Debian's kernel and busybox, under TCG) that writes to its disk
/// and dirties its RAM throughout: on QEMU 10.0 → 10.0 with `--destination` (hmp's NBD and blockdev-mirror flow),
/// on 7.2 → 7.2 with QEMU's own block migration and with hmp's flow. The destination runs the guest on by itself:
/// its counter goes on from where the source's stopped, and every block on its disk holds the newest write the
/// guest made to it; the rest of the disk, which the guest never touches, arrives byte for byte.
@Suite(.serialized) struct LinuxGuestMigrationTests {
    let scratch = TempDir()

    struct Route: Sendable, CustomTestStringConvertible {
        let version: QEMUVersion
        /// hmp's NBD flow (`--destination`), or QEMU's own block migration.
        let overNBD: Bool

        /// For the names of its files.
        var tag: String { version.rawValue + (overNBD ? "-nbd" : "-blk") }

        var testDescription: String {
            "QEMU \(version.rawValue) → \(version.rawValue) " + (overNBD ? "over NBD (--destination)" : "with QEMU's block migration")
        }
    }

    static let routes = [Route(version: .v10_0, overNBD: true), Route(version: .v7_2, overNBD: false),
                         Route(version: .v7_2, overNBD: true)]

    /// Counters the source has printed before the migration starts: the guest has booted and written every slot.
    static let countersBefore = 2 * LinuxGuest.blocks
    /// Counters the destination must print after the switchover: fewer than the slots, so that the last blocks
    /// the source wrote are still there to be checked.
    static let countersAfter = 24

    @Test(.timeLimit(.minutes(3)), arguments: routes) func theGuestGoesOnWritingAtTheDestination(route: Route) throws {
        let guest = try LinuxGuest.prepare()
        let version = route.version
        let diskSize = 16 << 20
        let guestArea = LinuxGuest.blocks * LinuxGuest.blockSize
        let sourceDisk = scratch.file("src-\(route.tag).raw"), destinationDisk = scratch.file("dst-\(route.tag).raw")
        try randomFile(sourceDisk, size: diskSize)
        let untouched = try Data(contentsOf: URL(fileURLWithPath: sourceDisk))[guestArea...]
        sparseFile(destinationDisk, size: diskSize)
        let sourceLog = scratch.file("src-\(route.tag).log"), destinationLog = scratch.file("dst-\(route.tag).log")
        let port = freePort()

        // Not paused: the source boots, and the destination runs the guest on by itself once the migration ends.
        let destination = try QEMUProcess(
            scratch: scratch, name: "dst-\(route.tag)", version: version, disk: destinationDisk,
            incomingPort: port, paused: false, memory: LinuxGuest.memory, extra: guest.arguments(serial: destinationLog))
        defer { destination.kill() }
        let source = try QEMUProcess(
            scratch: scratch, name: "src-\(route.tag)", version: version, disk: sourceDisk, paused: false,
            memory: LinuxGuest.memory, extra: guest.arguments(serial: sourceLog))
        defer { source.kill() }

        let booted = Date()
        let before = LinuxGuest.waitForCounter(inLog: sourceLog, atLeast: Self.countersBefore, timeout: 60)
        try #require((before.last ?? 0) >= Self.countersBefore,
                     "the guest boots and counts on the source: \(String(decoding: FileManager.default.contents(atPath: sourceLog) ?? Data(), as: UTF8.self).suffix(2000))")
        #expect(before == Array(1...before.count), "the source's counter starts at 1 and never skips")
        print("LinuxGuestMigrationTests: \(route.testDescription): \(before.last ?? 0) counters \(String(format: "%.1f", Date().timeIntervalSince(booted))) s after start")

        var arguments = ["--connect", source.qmpAddress]
        if route.overNBD { arguments += ["--destination", destination.qmpAddress] }
        let hmp = try HMPProcess(arguments)
        defer { hmp.close() }
        // The guest dirties its RAM fast: QEMU's default bandwidth (32 MiB/s on 7.2) would never converge.
        #expect(hmp.run("migrate_set_parameter max-bandwidth 1G") == "")
        let started = Date()
        let output = hmp.run("migrate -b tcp:127.0.0.1:\(port)", timeout: 90)
        let took = Date().timeIntervalSince(started)
        // Only QEMU's progress, "Completed N %\r" once a second (none when it is over within the first second).
        var pieces = output.utf8.split(separator: UInt8(ascii: "\r"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let end = pieces.removeLast()
        #expect(end == "\n" && pieces.allSatisfy { $0.hasPrefix("Completed ") && $0.hasSuffix(" %") },
                "\(output.debugDescription) \(hmp.errorText)")
        let info = hmp.run("info migrate")
        #expect(info.contains("Migration status: completed"), "\(info)")
        #expect(hmp.run("info status") == "VM status: paused (postmigrate)\n")

        // The source printed its last counter before the switchover; the destination goes on from the next one.
        let sourceCounters = LinuxGuest.counters(inLog: sourceLog)
        let lastOnSource = try #require(sourceCounters.last)
        #expect(sourceCounters == Array(1...lastOnSource))
        // The destination was started without -S: QEMU runs the guest once the migration has come in.
        let after = LinuxGuest.waitForCounter(inLog: destinationLog, atLeast: lastOnSource + Self.countersAfter, timeout: 30)
        #expect(destination.monitor("stop") == [])
        #expect(destination.monitor("info status") == ["VM status: paused"])
        let first = try #require(after.first, "the destination prints counters: \(String(decoding: FileManager.default.contents(atPath: destinationLog) ?? Data(), as: UTF8.self).suffix(2000))")
        // The line being printed at the switchover can be split between the two logs: then it is in neither.
        #expect((lastOnSource + 1...lastOnSource + 2).contains(first),
                "the destination's first counter \(first) follows the source's last, \(lastOnSource)")
        #expect(after == Array(first..<first + after.count), "the destination counts on, one by one: \(after.prefix(10))…")
        #expect((after.last ?? 0) >= lastOnSource + Self.countersAfter)
        print("LinuxGuestMigrationTests: \(route.testDescription): migrate -b took \(String(format: "%.1f", took)) s; "
              + "the source stopped at \(lastOnSource), the destination went on at \(first); QEMU's figures: "
              + QEMUProcess.lines(info).filter { $0.hasPrefix("total time:") || $0.hasPrefix("downtime:") }.joined(separator: ", "))

        // Stopped, the destination's disk holds in each slot the newest block the guest wrote there.
        let last = try #require(LinuxGuest.counters(inLog: destinationLog).last)
        _ = destination.monitor("quit", timeout: 2)
        #expect(destination.waitForExit(timeout: 10))
        // Those slots whose newest block the source wrote are the ones a migration could have lost.
        let fromTheSource = LinuxGuest.blocks - (last + 1 - lastOnSource)
        #expect(fromTheSource >= LinuxGuest.blocks / 4,
                "\(fromTheSource) slots still hold what the source wrote (the destination went from \(first) to \(last))")
        #expect(!LinuxGuest.acceptable(slot: lastOnSource % LinuxGuest.blocks, last: last)
            .contains(lastOnSource - LinuxGuest.blocks), "the source's last write lost would be seen")
        let slots = try LinuxGuest.slots(onDisk: destinationDisk)
        for (slot, value) in slots.enumerated() {
            let acceptable = LinuxGuest.acceptable(slot: slot, last: last)
            #expect(value.map { acceptable.contains($0) } ?? false,
                    "slot \(slot) holds \(value.map(String.init) ?? "no block of the guest's") after counter \(last): \(acceptable.sorted()) expected")
        }
        let rest = try Data(contentsOf: URL(fileURLWithPath: destinationDisk))[guestArea...]
        #expect(rest == untouched, "the part of the disk the guest does not write arrives byte for byte")
    }
}
