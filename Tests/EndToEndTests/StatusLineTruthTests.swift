import Foundation
import Testing
import TestSupport

/// The migration status line read as a person reads it, under tmux at a fixed size with the bottom row sampled
/// five times a second: the leading figure against what is left, a destination stopped with SIGSTOP, a guest
/// that dirties faster than the link with and without auto-converge (and the RAM byte for byte after), and what
/// 80 and 60 columns keep.
@Suite(.serialized) struct StatusLineTruthTests {
    let scratch = TempDir()
    static let mib = 1 << 20

    func bottomRow(_ term: TerminalSession) -> String {
        ((try? term.screen()) ?? []).dropLast().last ?? ""
    }

    /// Bottom rows every 200 ms until the screen says the migration ended or `timeout` passes.
    func sample(_ term: TerminalSession, timeout: TimeInterval, until end: String = "Migration completed in ",
                each: (String) -> Void = { _ in }) -> [String] {
        var rows: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let screen = term.screenText
            let row = bottomRow(term)
            if !row.isEmpty { rows.append(row); each(row) }
            if screen.contains(end) { break }
            usleep(200_000)
        }
        return rows
    }

    /// The number in what `pattern` (which holds one) matches in `row`.
    func number(_ pattern: String, in row: String) -> Int? {
        guard let range = row.range(of: pattern, options: .regularExpression) else { return nil }
        return Int(row[range].filter(\.isNumber))
    }

    /// A destination listening on `port`; with `diskMiB`, its drive0 is an empty image of that size.
    func destination(port: Int, ram: Int, diskMiB: Int? = nil) throws -> HMPProcess {
        var arguments = ["-m", String(ram), "-S", "-incoming", "tcp:127.0.0.1:\(port)"]
        if let diskMiB {
            let copy = scratch.file("copy.img")
            try Data(count: diskMiB << 20).write(to: URL(fileURLWithPath: copy))
            arguments += ["-drive", "file=\(copy),id=drive0"]
        }
        let process = try HMPProcess(arguments)
        _ = process.run("info status")
        return process
    }

    func terminal(_ arguments: String, width: Int = 100) throws -> TerminalSession {
        let home = try scratch.directory("home")
        let term = try TerminalSession("\(hmpBinary) \(arguments)", width: width, height: 14,
                                       environment: ["HOME": home, "TERM": "xterm-256color"])
        #expect(term.waitForCursorLine("(qemu) "))
        return term
    }

    func command(_ term: TerminalSession, _ line: String) throws {
        try term.type(line)
        try term.press("Enter")
    }

    /// 64 MiB of RAM and 32 MiB of disk, both of data (not zeros), at 32 MiB/s with a guest writing both: the
    /// figure is the whole migration's, agrees with `MiB left`, is never 100 before the end, and when it goes
    /// back the pass is on the line.
    @Test func theLeadingFigureNeverClaimsCompletionEarlyNorContradictsWhatIsLeft() throws {
        let port = freePort()
        let dst = try destination(port: port, ram: 64, diskMiB: 32)
        defer { dst.close() }
        let ram = scratch.patternFile("ram.bin", size: 64 << 20, seed: 5)
        let disk = scratch.patternFile("disk.img", size: 32 << 20, seed: 6)
        let term = try terminal("-m 64 -mem-path \(ram) -drive file=\(disk),id=drive0 -workload ram=8M,disk=1M")
        defer { term.close() }
        try command(term, "migrate_set_parameter max-bandwidth 32M")
        #expect(term.waitForCursorLine("(qemu) "))
        try command(term, "migrate -b tcp:127.0.0.1:\(port)")
        let total = 96
        var previous: Int?
        var previousLeft: Int?
        var figures = 0
        let rows = sample(term, timeout: 25) { row in
            #expect(!row.contains(" 0 MiB left") || row.contains("Completed 100 %"), "a false zero: \(row)")
            guard let percent = number(#"^Completed [0-9]+ %"#, in: row), let left = number(#"[0-9]+ MiB left"#, in: row)
            else { return }
            if let previousLeft, left > previousLeft {
                #expect(row.contains("(pass "), "left grew without a pass saying why: \(row)")
            }
            previousLeft = left
            figures += 1
            #expect(percent < 100, "100 % before completion: \(row)")
            let expected = Double(total - left) * 100 / Double(total)
            #expect(abs(Double(percent) - expected) <= 2, "\(percent) % beside \(left) MiB left of \(total): \(row)")
            if let previous, percent < previous {
                #expect(row.contains("(pass "), "the figure went back without saying why: \(row)")
            }
            previous = percent
        }
        #expect(term.screenText.contains("Migration completed in "), "\(term.screenText)")
        #expect(figures >= 3, "too few status lines sampled: \(rows)")
        #expect(rows.filter { $0.contains(" MiB left") }.allSatisfy { $0.hasPrefix("Completed ") },
                "the mission's words lead every figure row: \(rows)")
    }

    @Test func aDestinationStoppedWithSIGSTOPIsNamedAndTheRateFallsToZero() throws {
        let port = freePort()
        let dst = try destination(port: port, ram: 64)
        defer {
            kill(dst.process.processIdentifier, SIGCONT)
            dst.close()
        }
        let ram = scratch.patternFile("ram.bin", size: 64 << 20, seed: 7)
        let term = try terminal("-m 64 -mem-path \(ram)")
        defer { term.close() }
        try command(term, "migrate_set_parameter max-bandwidth 16M")
        #expect(term.waitForCursorLine("(qemu) "))
        try command(term, "migrate tcp:127.0.0.1:\(port)")
        #expect(term.waitFor { _ in bottomRow(term).contains(" MiB/s") && !bottomRow(term).contains(" 0 MiB/s") },
                "\(term.screenText)")
        kill(dst.process.processIdentifier, SIGSTOP)
        #expect(term.waitFor(timeout: 15) { _ in bottomRow(term).contains("destination not reading") },
                "\(term.screenText)")
        let stalled = bottomRow(term)
        #expect(stalled.contains(" · 0 MiB/s · "), "the rate must not freeze at its last value: \(stalled)")
        // How long it has stalled is said when there is room (a pass number may take it).
        // `Completed` takes room the stall's length had at this width; what to do about it comes first then.
        #expect(stalled.contains("stalled ") || stalled.contains("(pass ") || stalled.contains("stopped or overloaded?"),
                "\(stalled)")
        #expect(!stalled.contains("max-bandwidth"), "the limit is not the cause: \(stalled)")
        kill(dst.process.processIdentifier, SIGCONT)
        #expect(term.waitFor(timeout: 20) { $0.contains("Migration completed in ") }, "\(term.screenText)")
    }

    /// 32 MiB dirtied at up to 512 MiB/s against 16 MiB/s: not converging, with the remedy; cancelled, then
    /// again with auto-converge on (a steeper throttle than the defaults, so that the test is short): the throttle
    /// shows, the migration completes, and both sides' RAM are the same bytes. The guest needs only a twentieth of
    /// its rate to outrun the link, so a machine busy with other tests still shows a guest that does not converge.
    @Test func aGuestDirtyingFasterThanTheLinkIsNotConvergingUntilAutoConverge() throws {
        // RAM of data from the start: zero pages would go so fast that the first pass outruns the guest.
        let ram = scratch.patternFile("ram.bin", size: 32 << 20, seed: 10)
        let term = try terminal("-m 32 -mem-path \(ram) -workload ram=512M", width: 160)
        defer { term.close() }
        try command(term, "migrate_set_parameter max-bandwidth 16M")
        #expect(term.waitForCursorLine("(qemu) "))
        let first = freePort()
        let dst1 = try destination(port: first, ram: 32)
        defer { dst1.close() }
        try command(term, "migrate tcp:127.0.0.1:\(first)")
        #expect(term.waitFor(timeout: 20) { _ in
            let row = bottomRow(term)
            return row.contains("not converging") && row.contains("migrate_set_capability auto-converge on")
        }, "\(term.screenText)")
        #expect(!bottomRow(term).contains("ETA"), "no estimate for a migration that cannot end: \(bottomRow(term))")
        try term.press("C-c")
        #expect(term.waitFor { $0.contains("Migration cancelled; the guest keeps running here") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))

        let second = freePort()
        let dst2 = try destination(port: second, ram: 32)
        defer { dst2.close() }
        for line in ["migrate_set_capability auto-converge on", "migrate_set_parameter cpu-throttle-initial 80",
                     "migrate_set_parameter cpu-throttle-increment 19"] {
            try command(term, line)
            #expect(term.waitForCursorLine("(qemu) "))
        }
        try command(term, "migrate tcp:127.0.0.1:\(second)")
        let rows = sample(term, timeout: 45)
        #expect(term.screenText.contains("Migration completed in "), "\(term.screenText)")
        let throttles = rows.compactMap { number(#"throttle [0-9]+ %"#, in: $0) }
        #expect(!throttles.isEmpty, "the throttle was never shown: \(rows)")
        #expect(throttles.allSatisfy { $0 >= 80 && $0 <= 99 }, "\(throttles)")
        #expect(term.waitForCursorLine("(qemu) "))

        let a = scratch.file("source.ram"), b = scratch.file("destination.ram")
        try command(term, "pmemsave 0 0x2000000 \"\(a)\"")
        #expect(term.waitForCursorLine("(qemu) "))
        #expect(dst2.run("pmemsave 0 0x2000000 \"\(b)\"") == "")
        #expect((try? FileManager.default.attributesOfItem(atPath: a)[.size] as? Int) == 32 << 20)
        #expect(sameBytes(a, b), "guest RAM differs between source and destination")
        try command(term, "info migrate")
        // The screen keeps the end of it, where QEMU prints the throttle.
        #expect(term.waitFor { $0.contains("page size: 4 kbytes") }, "\(term.screenText)")
        #expect(term.waitForCursorLine("(qemu) "))
        #expect(!term.screenText.contains("cpu throttle percentage"), "the throttle ended with the migration")
    }

    /// At 80 and then 60 columns the line keeps progress, rate, what is left and the estimate; the keys, said once
    /// before the line appeared, are what goes first.
    @Test func eightyAndSixtyColumnsKeepTheNumbers() throws {
        let port = freePort()
        let dst = try destination(port: port, ram: 64, diskMiB: 64)
        defer { dst.close() }
        let ram = scratch.patternFile("ram.bin", size: 64 << 20, seed: 8)
        let disk = scratch.patternFile("disk.img", size: 64 << 20, seed: 9)
        let term = try terminal("-m 64 -mem-path \(ram) -drive file=\(disk),id=drive0", width: 80)
        defer { term.close() }
        try command(term, "migrate_set_parameter max-bandwidth 16M")
        #expect(term.waitForCursorLine("(qemu) "))
        try command(term, "migrate -b tcp:127.0.0.1:\(port)")
        #expect(term.screenText.contains(MigrationKeys.introduction) || term.waitFor {
            $0.contains(MigrationKeys.introduction)
        })
        func keepsTheNumbers(_ width: Int) -> Bool {
            term.waitFor(timeout: 10) { _ in
                let row = bottomRow(term)
                return row.count <= width - 1 && row.range(of: #"^Completed [0-9]+ %"#, options: .regularExpression) != nil
                    && row.contains(" MiB/s") && row.contains(" MiB left") && row.contains("ETA ")
            }
        }
        #expect(keepsTheNumbers(80), "\(term.screenText)")
        #expect(!bottomRow(term).contains("^C cancel"), "the keys go first: \(bottomRow(term))")
        try term.tmux(["resize-window", "-t", term.name, "-x", "60", "-y", "14"])
        #expect(keepsTheNumbers(60), "\(term.screenText)")
        try term.press("C-c")
        #expect(term.waitForCursorLine("(qemu) "))
    }
}
