import Foundation
import Testing
import TestSupport

/// `info migrate` after migrating a guest that keeps writing, as QEMU 7.2 prints it on both sides. The source has
/// QEMU's lines in QEMU's order, with RAM split into what went while the guest ran (`precopy ram`) and what went
/// once it had stopped (`downtime ram`); the destination says only that it completed. QEMU's guest is the Linux test
/// guest (a 4 MiB region rewritten for ever); hmp's is its workload writing a 4 MiB region, over RAM that starts
/// random so that the first pass takes long enough for the guest to write during it.
@Suite(.serialized) struct BusyGuestInfoMigrateAsQEMUTests {
    let scratch = TempDir()

    /// The labels in order. `dirty pages rate` is left out: QEMU prints it once a second-long measuring period
    /// has closed, which depends on how long each guest's migration took, not on the format.
    private static func labels(_ lines: [String]) -> [String] {
        lines.map { String($0.prefix { $0 != ":" }) }.filter { $0 != "dirty pages rate" }
    }

    private static func kbytes(_ lines: [String], _ label: String) -> Int? {
        lines.first { $0.hasPrefix(label + ": ") }
            .flatMap { Int($0.dropFirst(label.count + 2).split(separator: " ")[0]) }
    }

    /// Migrates with a 32 MiB/s limit and returns both sides' `info migrate` from the status line on.
    private static func migrate(
        source run: (String) -> [String]?, destination: (String) -> [String]?, port: Int
    ) -> (source: [String], destination: [String]) {
        _ = run("migrate_set_parameter max-bandwidth 32M")
        _ = run("migrate -d tcp:127.0.0.1:\(port)")
        let deadline = Date().addingTimeInterval(60)
        var info: [String] = []
        while Date() < deadline {
            info = run("info migrate") ?? []
            if info.contains(where: { $0 == "Migration status: completed" || $0 == "Migration status: failed" }) {
                break
            }
            usleep(100_000)
        }
        let arrived = destination("info migrate") ?? []
        return (Array(info.drop { !$0.hasPrefix("Migration status") }),
                Array(arrived.drop { !$0.hasPrefix("Migration status") }))
    }

    @Test func busyGuestInfoMigrateAsQEMU() throws {
        let guest = try LinuxGuest.prepare()
        let qemuPort = freePort()
        let sourceLog = scratch.file("src.log")
        // The guest's counter blocks go to its disk; this migration leaves disks alone (each side has its own).
        let sourceDisk = scratch.file("src.raw"), destinationDisk = scratch.file("dst.raw")
        sparseFile(sourceDisk, size: 1 << 20)
        sparseFile(destinationDisk, size: 1 << 20)
        let qemuDestination = try QEMUProcess(
            scratch: scratch, name: "qdst", disk: destinationDisk, incomingPort: qemuPort, paused: false,
            memory: LinuxGuest.memory, extra: guest.arguments(serial: scratch.file("dst.log")))
        let qemu = try QEMUProcess(
            scratch: scratch, name: "qsrc", disk: sourceDisk, paused: false, memory: LinuxGuest.memory,
            extra: guest.arguments(serial: sourceLog))
        defer { qemu.kill(); qemuDestination.kill() }
        // Booted and writing: its counter has moved.
        try #require((LinuxGuest.waitForCounter(inLog: sourceLog, atLeast: 4, timeout: 60).last ?? 0) >= 4)
        let expected = Self.migrate(source: { qemu.monitor($0) }, destination: { qemuDestination.monitor($0) },
                                    port: qemuPort)

        let ramFile = scratch.file("ram.img")
        try randomFile(ramFile, size: 64 << 20)
        let port = freePort()
        let destination = try HMPProcess(["-m", "64", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        let hmp = try HMPProcess(["-m", "64", "-mem-path", ramFile, "-workload", "ram=8M,region=4M"])
        defer { hmp.close() }
        let seen = Self.migrate(source: { QEMUProcess.lines(hmp.run($0)) },
                                destination: { QEMUProcess.lines(destination.run($0)) }, port: port)

        #expect(expected.source.first == "Migration status: completed", "\(expected.source)")
        #expect(seen.source.first == "Migration status: completed", "\(seen.source)")
        #expect(Self.labels(seen.source) == Self.labels(expected.source),
                "hmp:\n\(seen.source)\nQEMU 7.2:\n\(expected.source)")
        for (who, lines) in [("QEMU 7.2", expected.source), ("hmp", seen.source)] {
            #expect((Self.kbytes(lines, "precopy ram") ?? 0) > 0, "\(who): \(lines)")
            #expect((Self.kbytes(lines, "downtime ram") ?? 0) > 0, "\(who): \(lines)")
        }
        #expect(expected.destination == ["Migration status: completed", "total time: 0 ms"])
        #expect(seen.destination == expected.destination)
    }
}
