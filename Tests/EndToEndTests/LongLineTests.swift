import Foundation
import Testing
import TestSupport

/// A line with no newline in sight is discarded past 64 KiB, in linear time, with one error, and the next line
/// runs as usual; no byte in a line crashes the reader.
@Suite struct LongLineTests {
    let tooLong = "Error: line too long (the limit is 65536 bytes); it was discarded\n"

    @Test func tenMebibytesWithoutANewlineOnAPipe() throws {
        let hmp = try HMPProcess(["-m", "16"])
        defer { hmp.close() }
        _ = hmp.run("info status")
        let started = Date()
        let input = try #require(hmp.process.standardInput as? Pipe).fileHandleForWriting.fileDescriptor
        let flood = [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20) + Array("\n".utf8)
        let wrote = writeAll(flood, to: input, within: 10)
        try #require(wrote, "hmp reads 10 MiB in well under 10 seconds")
        hmp.waitFor(timeout: 5) { $0.hasSuffix(tooLong + "(qemu) ") }
        #expect(hmp.text.hasSuffix("(qemu) " + tooLong + "(qemu) "), "one error, then the prompt")
        #expect(hmp.run("info status") == "VM status: running\n")
        #expect(Date().timeIntervalSince(started) < 5, "read in linear time")
        #expect(hmp.run("info status") == "VM status: running\n")
        #expect(hmp.process.isRunning)
    }

    @Test func tenMebibytesWithoutANewlineOnASocket() throws {
        let scratch = TempDir()
        let (hmp, client) = try HMPProcess.withSocketMonitor(["-m", "16"], in: scratch)
        defer { hmp.close() }
        let started = Date()
        let flood = [UInt8](repeating: UInt8(ascii: "y"), count: 10 << 20) + Array("\n".utf8)
        let wrote = writeAll(flood, to: client.fd, within: 10)
        try #require(wrote, "hmp reads 10 MiB in well under 10 seconds")
        #expect(client.readUntilPrompt(timeout: 20) == tooLong)
        #expect(client.command("info status") == "VM status: running\n")
        #expect(Date().timeIntervalSince(started) < 5, "read in linear time")
        #expect(hmp.process.isRunning)
    }

    @Test func aLineJustUnderTheLimitIsStillALine() throws {
        let hmp = try HMPProcess(["-m", "16"])
        defer { hmp.close() }
        let answers = hmp.run([String(repeating: "a", count: 65000), "info status"])
        #expect(answers.first?.hasPrefix("unknown command: 'aaa") == true)
        #expect(answers.last == "VM status: running\n")
    }

    @Test func nulAndInvalidUTF8InALineCrashNothing() throws {
        let scratch = TempDir()
        let (hmp, client) = try HMPProcess.withSocketMonitor(["-m", "16"], in: scratch)
        defer { hmp.close() }
        for bytes: [UInt8] in [[0], [0xFF, 0xFE, 0x09], [0x69, 0x6E, 0x66, 0x6F, 0x00, 0xC3], [0xC0, 0x80, 0x20, 0x00]] {
            client.sendBytes(bytes + [0x0A])
            #expect(client.readUntilPrompt() != nil)
        }
        #expect(client.command("info status") == "VM status: running\n")
        #expect(hmp.process.isRunning)
    }
}
