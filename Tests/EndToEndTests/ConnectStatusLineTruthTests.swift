import Foundation
import Testing
import TestSupport

/// The status line of `hmp --connect` migrating a real QEMU 7.2 with `-b`, read as a person reads it: tmux at 100,
/// 80 and 60 columns, the bottom row sampled five times a second. `Completed N %` leads every row that has figures,
/// rises, is never 100 before the end, and `left` never grows without a pass saying why; before QEMU has sent a
/// figure the row says what it waits for, not zeros.
@Suite(.serialized) struct ConnectStatusLineTruthTests {
    let scratch = TempDir()

    static func number(_ pattern: String, in row: String) -> Int? {
        guard let range = row.range(of: pattern, options: .regularExpression) else { return nil }
        return Int(row[range].filter(\.isNumber))
    }

    @Test(arguments: [100, 80, 60]) func theLineIsTrueAtEveryWidth(width: Int) throws {
        let pair = try QEMUBlockMigrationPair(scratch: scratch, diskSize: 48 << 20, tag: "-\(width)")
        defer { pair.kill() }
        let (source, destination, port) = (pair.source, pair.destination, pair.port)
        let home = try scratch.directory("home")
        let term = try TerminalSession("\(hmpBinary) --connect \(source.qmpAddress)", width: width, height: 20,
                                       environment: ["HOME": home, "TERM": "xterm-256color"])
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("migrate_set_parameter max-bandwidth 16M")
        try term.press("Enter")
        #expect(term.waitForCursorLine("(qemu) "), "\(term.screenText)")
        try term.type("migrate -b tcp:127.0.0.1:\(port)")
        try term.press("Enter")

        var rows: [String] = []
        var previous: Int?
        var previousLeft: Int?
        let deadline = Date().addingTimeInterval(40)
        while Date() < deadline {
            let screen = term.screenText
            if screen.contains("Migration completed in ") { break }
            let row = ((try? term.screen()) ?? []).dropLast().last ?? ""
            defer { usleep(200_000) }
            guard !row.isEmpty, !row.hasPrefix("(qemu)") else { continue }
            rows.append(row)
            #expect(row.count <= width, "wider than the terminal: \(row)")
            #expect(!row.contains(" 0 MiB left") && !row.contains("RAM 0/0"), "a zero that is not true: \(row)")
            guard let left = Self.number(#"[0-9]+ MiB left"#, in: row) else { continue }
            let percent = Self.number(#"^Completed [0-9]+ %"#, in: row)
            #expect(percent != nil, "the mission's words lead: \(row)")
            guard let percent else { continue }
            #expect(percent < 100, "100 % before completion: \(row)")
            if let previous, percent < previous {
                #expect(row.contains("(pass "), "the figure went back without saying why: \(row)")
            }
            if let previousLeft, left > previousLeft {
                #expect(row.contains("(pass "), "left grew without a pass saying why: \(row)")
            }
            previous = percent
            previousLeft = left
        }
        #expect(term.waitFor { $0.contains("Migration completed in ") }, "\(term.screenText)")
        #expect(rows.filter { $0.contains(" MiB left") }.count >= 3, "too few status lines sampled: \(rows)")
        // What arrived is what left, RAM and disk.
        let sent = scratch.file("src-\(width).ram"), arrived = scratch.file("dst-\(width).ram")
        #expect(source.monitor("pmemsave 0 0x4000000 \"\(sent)\"") == [])
        #expect(destination.monitor("pmemsave 0 0x4000000 \"\(arrived)\"") == [])
        #expect(FileManager.default.contentsEqual(atPath: sent, andPath: arrived), "RAM")
        #expect(FileManager.default.contentsEqual(atPath: pair.sourceDisk, andPath: pair.destinationDisk), "disk")
    }
}
