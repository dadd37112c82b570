import Foundation
import Testing
import TestSupport

/// auto-converge through hmp's QMP server, against what QEMU 7.2 answers: migrate-set-parameters sets its members
/// all at once and checks the whole (so cpu-throttle-initial and max-cpu-throttle may come in either order, and a
/// refused call changes nothing), the capability turns on, and query-migrate reports the throttle while it acts.
@Suite(.serialized) struct AutoConvergeQMPTests {
    @Test func throttleParametersAreSetAllOrNothing() throws {
        let scratch = TempDir()
        let hmp = try HMPProcess(["-m", "64", "-monitor", "none", "-qmp",
                                  "unix:\(scratch.file("q.sock")),server=on,wait=off"])
        defer { hmp.close() }
        let client = try RawQMPClient(path: scratch.file("q.sock"))
        client.negotiate()
        func set(_ arguments: String) -> String? {
            client.command(#"{"execute": "migrate-set-parameters", "arguments": \#(arguments)}"#)
        }
        func throttle() -> [Int] {
            let reply = client.returned(#"{"execute": "query-migrate-parameters"}"#) as? [String: Any] ?? [:]
            return ["cpu-throttle-initial", "max-cpu-throttle", "cpu-throttle-increment"].map { reply[$0] as? Int ?? -1 }
        }
        #expect(set(#"{"cpu-throttle-initial": 60}"#) == #"{"return": {}}"#)
        // Checked one by one, max-cpu-throttle 50 would fall below the initial 60 still in force.
        #expect(set(#"{"max-cpu-throttle": 50, "cpu-throttle-initial": 40}"#) == #"{"return": {}}"#)
        #expect(throttle() == [40, 50, 10])
        #expect(set(#"{"cpu-throttle-increment": 30, "max-cpu-throttle": 30}"#)
            == #"{"error": {"class": "GenericError", "desc": "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"}}"#)
        #expect(throttle() == [40, 50, 10], "a refused call changes nothing")
        #expect(set(#"{"cpu-throttle-tailslow": true, "throttle-trigger-threshold": 0}"#)
            == #"{"error": {"class": "GenericError", "desc": "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100"}}"#)
        let reply = client.returned(#"{"execute": "query-migrate-parameters"}"#) as? [String: Any]
        #expect(reply?["cpu-throttle-tailslow"] as? Bool == false)
        #expect(client.command(#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "auto-converge", "state": true}]}}"#)
            == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "query-migrate-capabilities"}"#)?
            .contains(#"{"state": true, "capability": "auto-converge"}"#) == true)
    }

    /// A guest dirtying 32 MiB at up to 512 MiB/s against 16 MiB/s, auto-converge on: query-migrate shows
    /// `cpu-throttle-percentage` (at least cpu-throttle-initial) while the migration runs, and none once it ended.
    @Test func queryMigrateReportsTheThrottle() throws {
        let scratch = TempDir()
        let port = freePort()
        let dst = try HMPProcess(["-m", "32", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { dst.close() }
        _ = dst.run("info status")
        let ram = scratch.patternFile("ram.bin", size: 32 << 20, seed: 11)
        let hmp = try HMPProcess(["-m", "32", "-mem-path", ram, "-workload", "ram=512M", "-monitor", "none",
                                  "-qmp", "unix:\(scratch.file("q.sock")),server=on,wait=off"])
        defer { hmp.close() }
        let client = try RawQMPClient(path: scratch.file("q.sock"))
        client.negotiate()
        #expect(client.command(#"{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 16777216, "cpu-throttle-initial": 70}}"#) == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "auto-converge", "state": true}]}}"#) == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:\#(port)"}}"#)
            == #"{"return": {}}"#)
        var throttle: Int?
        var status = ""
        let deadline = Date().addingTimeInterval(40)
        while Date() < deadline {
            let reply = client.returned(#"{"execute": "query-migrate"}"#) as? [String: Any] ?? [:]
            status = reply["status"] as? String ?? ""
            if let percent = reply["cpu-throttle-percentage"] as? Int { throttle = percent }
            if status == "completed" || status == "failed" { break }
            usleep(200_000)
        }
        #expect(status == "completed")
        #expect(throttle.map { $0 >= 70 && $0 <= 99 } == true, "\(String(describing: throttle))")
        let after = client.returned(#"{"execute": "query-migrate"}"#) as? [String: Any] ?? [:]
        #expect(after["cpu-throttle-percentage"] == nil)
    }
}
