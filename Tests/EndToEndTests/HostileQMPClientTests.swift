import Foundation
import Testing
import TestSupport

/// A local user who can reach `-qmp` (a tcp: port, a socket they may open) and means harm: big or malformed
/// messages must not stop the other monitors or balloon hmp's memory, and connection slots cannot be hoarded.
@Suite struct HostileQMPClientTests {
    /// hmp with one QMP socket; its pid, for /proc.
    private func start(_ scratch: TempDir) throws -> (HMPProcess, String) {
        let socket = scratch.file("q.sock")
        let hmp = try HMPProcess(["-m", "16", "-S", "-monitor", "none", "-qmp", "unix:\(socket),server=on,wait=off"])
        return (hmp, socket)
    }

    private func negotiated(_ socket: String) throws -> RawQMPClient {
        let client = try RawQMPClient(path: socket)
        client.negotiate()
        return client
    }

    /// Peak resident memory, from /proc/PID/status (kB).
    private func peakKilobytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    /// 240,000 keys (3.8 MB) once froze every client for 55 s. The object is parsed off the loop: another client
    /// is answered at once, and the sender gets its (QEMU) error in seconds.
    @Test func aHugeObjectDoesNotStopTheOtherClients() throws {
        let scratch = TempDir()
        let (hmp, socket) = try start(scratch)
        defer { hmp.close() }
        let hostile = try negotiated(socket)
        let other = try negotiated(socket)
        var text = #"{"execute":"query-name","arguments":{"#
        for i in 0..<240_000 { text += (i == 0 ? "" : ",") + "\"k\(i)\":\(i)" }
        text += "}}"
        let sent = Date()
        hostile.sendRaw(text)
        usleep(50_000)
        let asked = Date()
        #expect(other.command(#"{"execute": "query-status", "id": "other"}"#)?.contains(#""id": "other""#) == true)
        let waited = Date().timeIntervalSince(asked)
        #expect(waited < 2, "the other client waited \(waited) s")
        #expect(hostile.readLine(timeout: 60) == #"{"error": {"class": "GenericError", "desc": "Parameter 'k0' is unexpected"}}"#)
        #expect(Date().timeIntervalSince(sent) < 30)
    }

    /// A 60 MiB string of invalid UTF-8 took hmp from 14 MB to 1.08 GB and 11 s. It is refused at its first bad
    /// byte with QEMU's text; what hmp holds is the message's bytes, about once.
    @Test func aHugeInvalidStringCostsLittle() throws {
        let scratch = TempDir()
        let (hmp, socket) = try start(scratch)
        defer { hmp.close() }
        let hostile = try negotiated(socket)
        let other = try negotiated(socket)
        let before = try peakKilobytes(hmp.process.processIdentifier)
        let sent = Date()
        hostile.sendBytes(Array(#"{"execute":"query-name","id":""#.utf8) + [UInt8](repeating: 0xC3, count: 60 << 20) + Array(#""}"#.utf8))
        #expect(hostile.readLine(timeout: 60) == #"{"error": {"class": "GenericError", "desc": "JSON parse error, invalid UTF-8 sequence in string"}}"#)
        // Generous: 60 MiB cross a socket and the splitter in a debug build, on two shared cores.
        #expect(Date().timeIntervalSince(sent) < 60)
        #expect(other.command(#"{"execute": "query-name", "id": 1}"#) == #"{"return": {}, "id": 1}"#)
        let grown = try peakKilobytes(hmp.process.processIdentifier) - before
        #expect(grown < 300_000, "peak RSS grew by \(grown) kB (from \(before) kB)")
    }

    /// A message over QEMU's 64 MiB bound: told so with QEMU's text, then dropped, not read to its end.
    @Test func aMessageOverTheLimitIsToldAndDropped() throws {
        let scratch = TempDir()
        let (hmp, socket) = try start(scratch)
        defer { hmp.close() }
        let hostile = try negotiated(socket)
        let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
        var took = hostile.sendBytes(Array(#"{"execute":"query-name","id":""#.utf8))
        for _ in 0..<80 where took { took = hostile.sendBytes(chunk) }
        #expect(!took, "hmp read 80 MiB of one message")
        #expect(hostile.readLine(timeout: 10) == #"{"error": {"class": "GenericError", "desc": "JSON token size limit exceeded"}}"#)
        #expect(hostile.readLine(timeout: 10) == nil)
        let other = try negotiated(socket)
        #expect(other.command(#"{"execute": "query-name"}"#) == #"{"return": {}}"#)
    }

    /// The ninth client is told why before the close (it was closed without a word, which `hmp --connect` took
    /// for QEMU quitting); the eight keep being served.
    @Test func theNinthClientIsToldTheServerIsFull() throws {
        let scratch = TempDir()
        let (hmp, socket) = try start(scratch)
        defer { hmp.close() }
        let clients = try (0..<8).map { _ in try negotiated(socket) }
        let ninth = try RawQMPClient(path: socket)
        #expect(ninth.readLine() == #"{"error": {"class": "GenericError", "desc": "Too many QMP clients: this socket serves 8 at once; try again when one disconnects"}}"#)
        #expect(ninth.readLine(timeout: 2) == nil)
        #expect(clients[7].command(#"{"execute": "query-name"}"#) == #"{"return": {}}"#)
        // `hmp --connect` to the full server says why, not that QEMU quit.
        let turnedAway = try runHMP(["--connect", "unix:\(socket)"], stdin: "info status\n", timeout: 20)
        #expect(turnedAway.status == 1)
        #expect(turnedAway.stderr.contains("Too many QMP clients: this socket serves 8 at once"), "\(turnedAway.stderr)")
    }

    /// A client that never negotiates is closed after 10 s, so eight silent connections cannot hold the slots
    /// for ever; one that negotiated stays, idle or not.
    @Test func anUnnegotiatedClientIsClosedAfterTenSeconds() throws {
        let scratch = TempDir()
        let (hmp, socket) = try start(scratch)
        defer { hmp.close() }
        let idle = try RawQMPClient(path: socket)
        let connected = Date()
        let worker = try negotiated(socket)
        #expect(idle.readLine()?.hasPrefix(#"{"QMP": "#) == true)
        #expect(idle.readLine(timeout: 20) == #"{"error": {"class": "GenericError", "desc": "No capabilities negotiation within 10 s: closing the connection; send {\"execute\": \"qmp_capabilities\"} right after the greeting"}}"#)
        #expect(idle.readLine(timeout: 2) == nil)
        let after = Date().timeIntervalSince(connected)
        #expect(after > 9 && after < 15, "closed after \(after) s")
        #expect(worker.command(#"{"execute": "query-name"}"#) == #"{"return": {}}"#)
    }
}
