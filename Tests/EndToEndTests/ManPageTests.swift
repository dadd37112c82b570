import Foundation
import Testing
import TestSupport

/// hmp(1) is part of the product: it lints clean and lists exactly the commands the table has.
@Suite struct ManPageTests {
    static let manPage: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("man/hmp.1").path
    }()

    @Test func commandSectionMatchesTheCommandTable() throws {
        let page = try String(contentsOfFile: Self.manPage, encoding: .utf8)
        let generated = try runHMP(["--print-man-commands"]).stdout
        let begin = try #require(page.range(of: ".\\\" BEGIN COMMANDS (scripts/update-man)\n"))
        let end = try #require(page.range(of: ".\\\" END COMMANDS\n"))
        #expect(String(page[begin.upperBound..<end.lowerBound]) == generated,
                "man/hmp.1 is out of date: run scripts/update-man")
    }

    @Test func lintsClean() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mandoc", "-Tlint", Self.manPage]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // Cross-references to pages this machine has not indexed are about the machine, not the page.
        let findings = text.split(separator: "\n").filter { !$0.contains("mandoc.db") }
        #expect(findings.isEmpty, "mandoc -Tlint: \(findings.joined(separator: "\n"))")
    }

    /// Every option `--help` lists is in the SYNOPSIS, and the EXIT STATUS names every signal that ends hmp with 0.
    @Test func synopsisAndExitStatusAreWhole() throws {
        let page = try String(contentsOfFile: Self.manPage, encoding: .utf8)
        let synopsis = try #require(page.components(separatedBy: ".Sh SYNOPSIS\n").last?.components(separatedBy: ".Sh ").first)
        let help = try runHMP(["--help"]).stdout
        let options = help.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let first = words.first, first.hasPrefix("-"), !["-h,", "--help", "--version"].contains(first)
            else { return nil }
            return String(first.dropFirst())
        }
        #expect(options.count >= 12, "\(options)")
        for option in options {
            #expect(synopsis.contains("Fl \(option) ") || synopsis.contains("Fl \(option)\n"), "SYNOPSIS lacks -\(option)")
        }
        let exitStatus = try #require(page.components(separatedBy: ".Sh EXIT STATUS\n").last?.components(separatedBy: ".Sh ").first)
        for signal in ["SIGTERM", "SIGHUP", "SIGINT"] {
            #expect(exitStatus.contains(signal), "EXIT STATUS lacks \(signal)")
        }
        #expect(help.contains("(default: 128M"), "--help gives -m's default")
    }
}
