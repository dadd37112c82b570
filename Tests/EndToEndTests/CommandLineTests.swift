import Foundation
import Testing
import TestSupport

/// hmp's own options: QEMU's spelling, and bad input refused in one line with status 1 before anything starts.
@Suite struct CommandLineTests {
    @Test func helpListsEveryOption() throws {
        let result = try runHMP(["--help"])
        #expect(result.status == 0)
        for option in ["-m <size>", "-mem-path", "-drive", "-S", "-name", "-workload", "-monitor", "-incoming"] {
            #expect(result.stdout.contains(option), "--help lacks \(option)")
        }
    }

    @Test func versionPrintsOneLine() throws {
        let result = try runHMP(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 1)
    }

    @Test(arguments: [
        (["-frobnicate"], "unknown option '-frobnicate'"),
        (["-m", "lots"], "lots"),
        (["-m", "0"], "-m"),
        (["-drive", "file=/nonexistent/disk.img"], "/nonexistent/disk.img"),
        (["-drive", "file=x.img,cache=none"], "cache"),
        (["-drive", "id=d0"], "file="),
        (["-drive", "file=x.img,format=qcow2"], "raw"),
        (["-workload", "ram=fast"], "fast"),
        (["-monitor", "tcp:127.0.0.1:1"], "-monitor"),
        (["-mem-path", "/nonexistent/ram"], "/nonexistent/ram"),
    ])
    func badInputIsOneLineAndStatusOne(arguments: [String], mention: String) throws {
        let result = try runHMP(arguments)
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.hasPrefix("hmp: "))
        #expect(result.stderr.contains(mention), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty, "nothing starts: \(result.stdout)")
    }

    @Test func memPathSmallerThanRAMIsRefused() throws {
        let scratch = TempDir()
        let ram = scratch.patternFile("ram.bin", size: 1 << 20)
        let result = try runHMP(["-m", "2", "-mem-path", ram])
        #expect(result.status == 1)
        #expect(result.stderr.contains("ram.bin"))
    }
}
