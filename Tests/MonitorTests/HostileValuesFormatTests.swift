import Glibc
import Machine
import Migration
@testable import Monitor
import MigrationModel
import QMP
import QObject
import Testing

/// What hmp prints for a QMP peer's figures and strings that no real QEMU sends: numbers at the ends of their
/// range, and control characters. Nothing traps, and no control character reaches the text.
@Suite struct HostileValuesFormatTests {
    /// glibc's own `%0.2f`, which QEMU's monitor uses.
    static func printf(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 400)
        let count = withVaList([value]) { vsnprintf(&buffer, buffer.count, "%0.2f", $0) }
        #expect(count > 0 && count < buffer.count)
        return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    @Test func twoDecimalsIsGlibcsPercent02f() {
        let samples: [Double] = [
            0, -0.0, 1.005, 0.125, 0.375, 0.005, 9.995, 12.3, -1, 1e17, 2e17, 1e300, -1e300, 0x1p64, 0x1p53,
            0x1p53 + 2, 4.5e15, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude,
            .infinity, -.infinity, 123_456_789.015, 0.995, 99.995,
        ]
        for value in samples {
            #expect(HMPFormat.twoDecimals(value) == Self.printf(value), "\(value)")
        }
        // Bit patterns all over the range, sub-normals to the largest.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            let value = Double(bitPattern: seed)
            guard value.isFinite else { continue }
            #expect(HMPFormat.twoDecimals(value) == Self.printf(value), "\(value) \(seed)")
        }
        #expect(HMPFormat.twoDecimals(.nan) == "nan")
        #expect(HMPFormat.twoDecimals(1e17) == "100000000000000000.00")
    }

    @Test func diskPercentTakesTheProductFullWidth() {
        typealias Disk = MigrationInfo.DiskStatistics
        #expect(Disk(transferred: 200_000_000_000_000_000, remaining: 1, total: 400_000_000_000_000_000).percent == 50)
        #expect(Disk(transferred: .max - 1, remaining: 1, total: .max).percent == 99)
        #expect(Disk(transferred: .max, remaining: 1, total: .max).percent == 100)
        #expect(Disk(transferred: .max, remaining: .max, total: 1).percent == 100)
        #expect(Disk(transferred: 1, remaining: 3, total: 4).percent == 25)
    }

    /// query-migrate as a hostile peer could send it, decoded and rendered by every path.
    func hostileInfo(status: String, mbps: QValue) throws -> MigrationInfo {
        let max = QValue.uint(.max)
        let ram: QDict = [
            "transferred": max, "remaining": max, "total": max, "duplicate": max, "skipped": max, "normal": max,
            "normal-bytes": max, "dirty-sync-count": max, "pages-per-second": max, "dirty-pages-rate": max,
            "page-size": max, "multifd-bytes": max, "downtime-bytes": max, "precopy-bytes": max,
            "postcopy-bytes": max, "postcopy-requests": max, "mbps": mbps,
        ]
        let reply: QDict = [
            "status": .string(status), "total-time": max, "setup-time": max, "expected-downtime": max,
            "downtime": max, "ram": .dict(ram), "cpu-throttle-percentage": max,
            "disk": ["transferred": .uint(200_000_000_000_000_000), "remaining": max, "total": max],
            "error-desc": "\u{1B}]0;pwned\u{07}\u{1B}[2Jgone",
        ]
        return MigrationInfo(queryMigrate: reply)
    }

    @Test func extremeFiguresRenderEverywhere() throws {
        for mbps: QValue in [.double(1e17), .double(.infinity), .double(-.infinity), .double(-5), .uint(.max),
                             .int(.min), .double(.greatestFiniteMagnitude)] {
            for status in ["active", "completed", "failed", "cancelling", "setup"] {
                let info = try hostileInfo(status: status, mbps: mbps)
                let lines = HMPFormat.migrationLines(info)
                #expect(lines.contains("transferred ram: 18014398509481983 kbytes"), "\(lines)")
                #expect(lines.contains("dirty sync count: 18446744073709551615"))
                #expect(lines.contains("transferred disk: 195312500000000 kbytes") || status == "completed")
                #expect(!lines.contains(where: Self.hasControl), "\(lines)")
                for width in [250, 80, 20, 0, -1] {
                    for stalled in [0, 5, Int.max] {
                        let line = MigrationStatusText.line(info, width: width, stalledSeconds: stalled, qemuFigure: true)
                        #expect(!Self.hasControl(line))
                    }
                }
                for runState in [RunState.running, .paused, .postmigrate] {
                    #expect(!Self.hasControl(MigrationStatusText.summary(info, runState: runState)))
                }
                #expect(!Self.hasControl(MigrationStatusText.errorLine(info)))
            }
        }
        let fast = try hostileInfo(status: "active", mbps: .double(1e17))
        #expect(HMPFormat.migrationLines(fast).contains("throughput: 100000000000000000.00 mbps"))
        #expect(MigrationStatusText.bytesPerSecond(fast) > 1e22)
        let infinite = try hostileInfo(status: "active", mbps: .double(Double("1e999") ?? 0))
        #expect(HMPFormat.migrationLines(infinite).contains("throughput: inf mbps"))
        #expect(MigrationStatusText.bytesPerSecond(infinite) == 0, "an infinite rate says nothing")
        let failed = try hostileInfo(status: "failed", mbps: 0)
        #expect(MigrationStatusText.errorLine(failed) == "Error: \\x1b]0;pwned\\x07\\x1b[2Jgone")
        #expect(HMPFormat.migrationLines(failed).contains("Migration status: failed (\\x1b]0;pwned\\x07\\x1b[2Jgone)"))
        #expect(MigrationStatusText.summary(failed, runState: .running)
                == "Migration failed: \\x1b]0;pwned\\x07\\x1b[2Jgone; the guest keeps running here")
        var completed = try hostileInfo(status: "completed", mbps: 0)
        #expect(MigrationStatusText.summary(completed, runState: .running).hasPrefix(
            "Migration completed in \(Self.printf(Double(UInt64.max) / 1000)) s: downtime 18446744073709551615 ms, "))
        completed.totalTime = 0
        #expect(MigrationStatusText.summary(completed, runState: .running).hasSuffix(
            "17592186044416 MiB sent at 17592186044416 MiB/s"), "a sum of RAM and disk that saturates, over 1 ms")
    }

    @Test func anUnknownStatusIsThePeersWordMadePrintable() {
        var info = MigrationInfo()
        info.status = MigrationStatus(name: "\u{1B}]0;pwned\u{07}")
        #expect(HMPFormat.migrationLines(info).contains("Migration status: \\x1b]0;pwned\\x07"))
        #expect(MigrationStatusText.summary(info, runState: .running) == "Migration \\x1b]0;pwned\\x07")
        #expect(!Self.hasControl(MigrationStatusText.line(info, width: 200, stalledSeconds: 0)))
    }

    @Test func eventsFromAPeerCarryNoControls() {
        let event = QMPEvent(
            name: "EVIL\u{1B}]0;pwned\u{07}\u{1B}[2J",
            data: ["status": "\u{1B}[31mred", "nested": ["k": "\u{9B}1;1H\u{7F}"], "line": "a\nb\r\tc"],
            seconds: 1, microseconds: 2)
        let line = HMPFormat.event(event)
        #expect(!Self.hasControl(String(line.filter { $0 != "\t" })), "\(line.debugDescription)")
        #expect(line.contains("[EVIL\\x1b]0;pwned\\x07\\x1b[2J "), "\(line)")
        #expect(line.contains("line=a\\x0ab\\x0d\tc"), "\(line)")
        #expect(line.contains("status=\\x1b[31mred"), "\(line)")
        let migration = QMPEvent(name: "MIGRATION", data: ["status": "\u{1B}[2Jx"], seconds: 1, microseconds: 2)
        #expect(HMPFormat.event(migration) == "QEMU: migration \\x1b[2Jx [MIGRATION status=\\x1b[2Jx]")
        // QEMU's own events pass as they were.
        let stop = QMPEvent(name: "STOP", seconds: 1, microseconds: 2)
        #expect(HMPFormat.event(stop) == "QEMU: the guest stopped [STOP]")
    }

    @Test func terminalSafeText() {
        let qtree = "bus: main-system-bus\n  type System\n\tdev: hpet, id \"\"\r\n    gpio-in \"\" 2\n"
        #expect(TerminalSafeText.multiLine(qtree) == qtree, "legitimate output passes unchanged")
        #expect(TerminalSafeText.multiLine("C:\\dir é ü 中") == "C:\\dir é ü 中")
        #expect(TerminalSafeText.multiLine("a\rb\n") == "a\\x0db\n", "a lone CR would overwrite the line")
        #expect(TerminalSafeText.multiLine("\u{0}\u{1B}\u{7F}\u{80}\u{9F}\u{A0}") == "\\x00\\x1b\\x7f\\x80\\x9f\u{A0}")
        #expect(TerminalSafeText.multiLine("end\r") == "end\\x0d")
        #expect(TerminalSafeText.singleLine("a\nb\tc\r\n") == "a\\x0ab\tc\\x0d\\x0a")
        #expect(TerminalSafeText.singleLine("") == "")
    }

    @Test func peerNamesInInfoBlockAndParameters() {
        let device = BlockDevice(id: "d\u{1B}[2J", nodeName: "n\u{7}", path: "/p\u{9B}", format: "raw", readOnly: false)
        #expect(HMPFormat.blockLines([device]).first == "d\\x1b[2J (n\\x07): /p\\x9b (raw)")
        var parameters = MigrationParameters()
        parameters.tlsCreds = "\u{1B}]0;t\u{7}"
        #expect(HMPFormat.parameterLines(parameters).contains("tls-creds: '\\x1b]0;t\\x07'"))
    }
}
