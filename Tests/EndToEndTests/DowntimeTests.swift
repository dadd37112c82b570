import Foundation
import Testing
import TestSupport

/// The downtime that `query-migrate` reports, checked against the guest's real pause as QMP clients see it: from
/// the source's STOP (the guest stops for the last copy) to the destination's RESUME (it runs again), both stamped
/// with the wall clock when the run state changed. The report is the source's part, as QEMU's: it cannot be longer
/// than the pause, and the destination's share (what was still in the sockets, then starting the guest) is small.
@Suite(.serialized)
struct DowntimeTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let workload: [String]
        let downtimeLimit: Int
        var testDescription: String { name }
    }

    static let cases = [
        Case(name: "idle guest", workload: [], downtimeLimit: 300),
        Case(name: "guest writing 32 MiB/s", workload: ["-workload", "ram=32M"], downtimeLimit: 300),
    ]

    /// The event's `timestamp` in microseconds.
    private func timestamp(_ line: String) -> Int64? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
            let stamp = object["timestamp"] as? [String: Any],
            let seconds = stamp["seconds"] as? Int, let micro = stamp["microseconds"] as? Int
        else { return nil }
        return Int64(seconds) * 1_000_000 + Int64(micro)
    }

    /// Waits for the event `name` on `client`, gathering the lines that came with replies before.
    private func event(_ name: String, _ client: RawQMPClient, seen: [String]) -> String? {
        let suffix = #""event": "\#(name)"}"#
        if let line = seen.first(where: { $0.hasSuffix(suffix) }) { return line }
        while let line = client.readLine(timeout: 30) {
            if line.hasSuffix(suffix) { return line }
        }
        return nil
    }

    @Test(arguments: cases)
    func reportedDowntimeIsTheSourcesPartOfTheRealPause(_ setting: Case) throws {
        let scratch = TempDir()
        let ram = scratch.patternFile("ram.bin", size: 128 << 20, seed: 11)
        let port = freePort()
        let destination = try HMPProcess([
            "-m", "128", "-incoming", "tcp:127.0.0.1:\(port)", "-monitor", "none",
            "-qmp", "unix:\(scratch.file("d.sock")),server=on,wait=off",
        ])
        defer { destination.close() }
        let source = try HMPProcess([
            "-m", "128", "-mem-path", ram, "-monitor", "none",
            "-qmp", "unix:\(scratch.file("s.sock")),server=on,wait=off",
        ] + setting.workload)
        defer { source.close() }
        let src = try RawQMPClient(path: scratch.file("s.sock"))
        let dst = try RawQMPClient(path: scratch.file("d.sock"))
        src.negotiate()
        dst.negotiate()
        let parameters = #"{"max-bandwidth": 107374182400, "downtime-limit": \#(setting.downtimeLimit)}"#
        #expect(src.command(#"{"execute": "migrate-set-parameters", "arguments": \#(parameters)}"#) == #"{"return": {}}"#)
        var srcEvents: [String] = []
        #expect(src.command(#"{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:\#(port)"}}"#, events: &srcEvents)
            == #"{"return": {}}"#)
        var info: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            info = src.returned(#"{"execute": "query-migrate"}"#, events: &srcEvents) as? [String: Any] ?? [:]
            if let status = info["status"] as? String, ["completed", "failed", "cancelled"].contains(status) { break }
            usleep(20_000)
        }
        #expect(info["status"] as? String == "completed", "\(info)")
        let reported = try #require(info["downtime"] as? Int, "\(info)")
        let stop = try #require(event("STOP", src, seen: srcEvents).flatMap(timestamp), "\(srcEvents)")
        let resume = try #require(event("RESUME", dst, seen: []).flatMap(timestamp))
        let pause = Double(resume - stop) / 1000
        // Milliseconds on both sides: the report may round up past the pause by less than one.
        #expect(Double(reported) <= pause + 1, "reported \(reported) ms, guest paused \(pause) ms")
        #expect(pause - Double(reported) <= 100, "reported \(reported) ms, guest paused \(pause) ms")
        #expect(reported <= setting.downtimeLimit, "reported \(reported) ms")

        // Byte for byte: both guests stopped, then RAM saved on each side.
        _ = dst.command(#"{"execute": "stop"}"#)
        for (client, name) in [(src, "src.ram"), (dst, "dst.ram")] {
            let saved = client.returned(#"{"execute": "human-monitor-command", "arguments": {"command-line": "pmemsave 0 134217728 \"\#(scratch.file(name))\""}}"#) as? String
            #expect(saved == "")
        }
        #expect(FileManager.default.contentsEqual(atPath: scratch.file("src.ram"), andPath: scratch.file("dst.ram")))
        if setting.workload.isEmpty {
            #expect(FileManager.default.contentsEqual(atPath: ram, andPath: scratch.file("dst.ram")))
        }
        _ = dst.command(#"{"execute": "quit"}"#)
        _ = src.command(#"{"execute": "quit"}"#)
        #expect(destination.waitForExit() == 0)
        #expect(source.waitForExit() == 0)
    }
}
