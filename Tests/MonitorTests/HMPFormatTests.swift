import Machine
import Migration
@testable import Monitor
import MigrationModel
import Testing

@Suite struct HMPFormatTests {
    @Test func status() {
        #expect(HMPFormat.status(.running) == "VM status: running")
        #expect(HMPFormat.status(.paused) == "VM status: paused")
        #expect(HMPFormat.status(.prelaunch) == "VM status: paused (prelaunch)")
        #expect(HMPFormat.status(.postmigrate) == "VM status: paused (postmigrate)")
        #expect(HMPFormat.status(.inmigrate) == "VM status: paused (inmigrate)")
        #expect(HMPFormat.status(.finishMigrate) == "VM status: paused (finish-migrate)")
        // States only a QEMU behind --connect reaches, as query-status spells them.
        #expect(HMPFormat.status(RunState(rawValue: "io-error")!) == "VM status: paused (io-error)")
        #expect(HMPFormat.status(RunState(rawValue: "guest-panicked")!) == "VM status: paused (guest-panicked)")
        #expect(HMPFormat.status(RunState(rawValue: "suspended")!) == "VM status: paused (suspended)")
    }

    @Test func block() {
        let devices = [
            BlockDevice(id: "drive0", nodeName: "#block101", path: "/d.img", format: "raw", readOnly: false),
            BlockDevice(id: "ro", nodeName: "#block102", path: "/d.img", format: "raw", readOnly: true),
        ]
        #expect(HMPFormat.blockLines(devices) == [
            "drive0 (#block101): /d.img (raw)",
            "    Cache mode:       writeback",
            "",
            "ro (#block102): /d.img (raw, read-only)",
            "    Cache mode:       writeback",
        ])
        #expect(HMPFormat.blockLines([]) == [])
    }

    static let defaultParameters = [
        "announce-initial: 50 ms", "announce-max: 550 ms", "announce-rounds: 5", "announce-step: 100 ms",
        "compress-level: 1", "compress-threads: 8", "compress-wait-thread: on", "decompress-threads: 2",
        "throttle-trigger-threshold: 50", "cpu-throttle-initial: 20", "cpu-throttle-increment: 10",
        "cpu-throttle-tailslow: off", "max-cpu-throttle: 99", "tls-creds: ''", "tls-hostname: ''",
        "max-bandwidth: 134217728 bytes/second", "downtime-limit: 300 ms", "x-checkpoint-delay: 20000 ms",
        "block-incremental: off", "multifd-channels: 2", "multifd-compression: none",
        "xbzrle-cache-size: 67108864 bytes", "max-postcopy-bandwidth: 0", "tls-authz: ''",
    ]

    @Test func parameters() throws {
        #expect(HMPFormat.parameterLines(MigrationParameters()) == Self.defaultParameters)
        var p = MigrationParameters()
        try p.set(name: "max-bandwidth", value: "100")
        try p.set(name: "announce-initial", value: "1k")
        try p.set(name: "tls-creds", value: "foo")
        try p.set(name: "multifd-compression", value: "zstd")
        try p.set(name: "max-postcopy-bandwidth", value: "1M")
        let lines = HMPFormat.parameterLines(p)
        #expect(lines[0] == "announce-initial: 1024 ms")
        #expect(lines[13] == "tls-creds: 'foo'")
        #expect(lines[15] == "max-bandwidth: 104857600 bytes/second")
        #expect(lines[20] == "multifd-compression: zstd")
        #expect(lines[22] == "max-postcopy-bandwidth: 1048576")
    }

    @Test func capabilities() throws {
        var caps = MigrationCapabilities()
        #expect(HMPFormat.capabilityLines(caps).count == 21)
        #expect(HMPFormat.capabilityLines(caps).first == "xbzrle: off")
        #expect(HMPFormat.capabilityLines(caps).last == "postcopy-preempt: off")
        try caps.set(name: "xbzrle", on: true)
        #expect(HMPFormat.capabilityLines(caps).first == "xbzrle: on")
    }

    @Test func migrationBeforeAnyAndFailed() {
        #expect(HMPFormat.migrationLines(MigrationInfo()) == HMPFormat.migrationGlobals)
        var info = MigrationInfo()
        info.status = .failed
        info.errorDescription = "Connection refused"
        info.totalTime = 3
        #expect(HMPFormat.migrationLines(info) == HMPFormat.migrationGlobals + [
            "Migration status: failed (Connection refused)", "total time: 0 ms",
        ])
    }

    @Test func migrationActiveWithDisk() {
        var info = MigrationInfo()
        info.status = .active
        info.totalTime = 1500
        info.setupTime = 4
        info.expectedDowntime = 30
        info.ram.transferred = 2048
        info.ram.total = 1 << 20
        info.ram.remaining = 4096
        info.ram.mbps = 12.345
        info.disk = MigrationInfo.DiskStatistics(transferred: 1024, remaining: 3072, total: 4096)
        let lines = Array(HMPFormat.migrationLines(info).dropFirst(HMPFormat.migrationGlobals.count))
        #expect(lines.prefix(4) == ["Migration status: active", "total time: 1500 ms", "expected downtime: 30 ms",
                                    "setup: 4 ms"])
        #expect(lines.contains("throughput: 12.35 mbps"))
        #expect(lines.suffix(3) == ["transferred disk: 1 kbytes", "remaining disk: 3 kbytes", "total disk: 4 kbytes"])
        info.status = .completed
        info.downtime = 7
        let completed = HMPFormat.migrationLines(info)
        #expect(completed.contains("downtime: 7 ms"))
        #expect(!completed.contains { $0.hasPrefix("total disk") })
    }

    @Test func twoDecimals() {
        #expect(HMPFormat.twoDecimals(0) == "0.00")
        // 1.005 is 1.00499999999999989… as a double: glibc's printf, which QEMU uses, rounds it down.
        #expect(HMPFormat.twoDecimals(1.005) == "1.00")
        #expect(HMPFormat.twoDecimals(12.3) == "12.30")
        #expect(HMPFormat.twoDecimals(-1) == "-1.00", "as QEMU's %0.2f prints a peer's negative figure")
    }
}
