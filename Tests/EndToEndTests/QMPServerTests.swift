import Foundation
import Testing
import TestSupport

@Suite(.serialized)
struct QMPServerTests {
    static let greeting =
        #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "hmp 0.1.0"}, "capabilities": ["oob"]}}"#

    private func start(_ scratch: TempDir, _ extra: [String] = [], socket: String = "q.sock") throws -> HMPProcess {
        try HMPProcess(["-m", "64", "-monitor", "none", "-qmp", "unix:\(scratch.file(socket)),server=on,wait=off"] + extra)
    }

    @Test func greetingNegotiationAndErrors() throws {
        let scratch = TempDir()
        let hmp = try start(scratch, ["-S"])
        defer { hmp.close() }
        let client = try RawQMPClient(path: scratch.file("q.sock"))
        #expect(client.readLine() == Self.greeting)
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.file("q.sock"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(client.command(#"{"execute": "query-status", "id": "x1"}"#)
            == #"{"id": "x1", "error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}"#)
        #expect(client.command(#"{"execute": "qmp_capabilities", "arguments": {"foo": 1}}"#)
            == #"{"error": {"class": "GenericError", "desc": "Parameter 'foo' is unexpected"}}"#)
        #expect(client.command(#"{"execute": "qmp_capabilities"}"#) == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "qmp_capabilities"}"#)
            == #"{"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}"#)
        let prelaunch = #"{"status": "prelaunch", "singlestep": false, "running": false}"#
        #expect(client.command(#"{"execute": "query-status", "id": {"a": [1, 2]}}"#)
            == #"{"return": \#(prelaunch), "id": {"a": [1, 2]}}"#)
        // Two objects in one write, then one across two writes.
        client.sendRaw(#"{"execute":"query-status","id":"a"}{"execute":"query-name","id":"b"}"#)
        #expect(client.readLine() == #"{"return": \#(prelaunch), "id": "a"}"#)
        #expect(client.readLine() == #"{"return": {}, "id": "b"}"#)
        client.sendRaw(#"{"execute":"query-"#)
        #expect(client.isQuiet())
        #expect(client.command(#"status","id":"split"}"#) == #"{"return": \#(prelaunch), "id": "split"}"#)
        client.sendRaw("\n\n   \r\n")
        #expect(client.isQuiet())
        let errors: [(String, String)] = [
            (#"{"execute": "nosuch-command"}"#, #"{"error": {"class": "CommandNotFound", "desc": "The command nosuch-command has not been found"}}"#),
            (#"{"execute": "human-monitor-command", "id": "e1"}"#, #"{"id": "e1", "error": {"class": "GenericError", "desc": "Parameter 'command-line' is missing"}}"#),
            (#"{"execute": "human-monitor-command", "arguments": {"command-line": 1}}"#, #"{"error": {"class": "GenericError", "desc": "Invalid parameter type for 'command-line', expected: string"}}"#),
            (#"{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:1", "blk": "yes"}}"#, #"{"error": {"class": "GenericError", "desc": "Invalid parameter type for 'blk', expected: boolean"}}"#),
            (#"{"execute": "query-status", "arguments": [1]}"#, #"{"error": {"class": "GenericError", "desc": "QMP input member 'arguments' must be an object"}}"#),
            (#"{"execute": 1}"#, #"{"error": {"class": "GenericError", "desc": "QMP input member 'execute' must be a string"}}"#),
            (#"{"id": 1}"#, #"{"id": 1, "error": {"class": "GenericError", "desc": "QMP input lacks member 'execute'"}}"#),
            (#"{"execute": "query-status", "foo": 1}"#, #"{"error": {"class": "GenericError", "desc": "QMP input member 'foo' is unexpected"}}"#),
            ("[1, 2]", #"{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}"#),
            ("hello ", #"{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'hello'"}}"#),
            (#"{"execute": "query-status",}"#, #"{"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}"#),
            (#"{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": "fast"}}"#, #"{"error": {"class": "GenericError", "desc": "Parameter 'max-bandwidth' expects uint64"}}"#),
            (#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "nosuch", "state": true}]}}"#, #"{"error": {"class": "GenericError", "desc": "Parameter 'capability' does not accept value 'nosuch'"}}"#),
            (#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events"}]}}"#, #"{"error": {"class": "GenericError", "desc": "Parameter 'capabilities[0].state' is missing"}}"#),
        ]
        for (input, expected) in errors {
            #expect(client.command(input) == expected, "\(input)")
        }
        #expect(client.command("{'execute': 'query-status'}") == #"{"return": \#(prelaunch)}"#)
        #expect(client.command(#"{"execute": "query-version"}"#)
            == #"{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "hmp 0.1.0"}}"#)
        #expect(client.command(#"{"execute": "query-migrate"}"#) == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "migrate_cancel"}"#) == #"{"return": {}}"#)
        let capabilities = try #require(client.command(#"{"execute": "query-migrate-capabilities"}"#))
        #expect(capabilities.utf8.count + 2 == 1028)
        #expect(capabilities.hasPrefix(#"{"return": [{"state": false, "capability": "xbzrle"}, {"state": false, "capability": "rdma-pin-all"}, "#))
        #expect(client.command(#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}"#) == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "query-migrate-capabilities"}"#)?.contains(#"{"state": true, "capability": "events"}"#) == true)
        let parameters = try #require(client.command(#"{"execute": "query-migrate-parameters"}"#))
        #expect(parameters.hasPrefix(#"{"return": {"cpu-throttle-tailslow": false, "xbzrle-cache-size": 67108864, "#))
        #expect(parameters.hasSuffix(#""max-bandwidth": 134217728, "x-checkpoint-delay": 20000, "cpu-throttle-increment": 10}}"#))
        #expect(client.command(#"{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 33554432}}"#) == #"{"return": {}}"#)
        #expect(client.command(#"{"execute": "query-migrate-parameters"}"#)?.contains(#""max-bandwidth": 33554432,"#) == true)
    }

    @Test func runStateEventsHumanMonitorAndQuit() throws {
        let scratch = TempDir()
        let hmp = try start(scratch, ["-S"])
        defer { hmp.close() }
        let first = try RawQMPClient(path: scratch.file("q.sock"))
        let second = try RawQMPClient(path: scratch.file("q.sock"))
        let idle = try RawQMPClient(path: scratch.file("q.sock"))
        first.negotiate()
        second.negotiate()
        #expect(idle.readLine() == Self.greeting)
        var events: [String] = []
        #expect(first.command(#"{"execute": "cont"}"#, events: &events) == #"{"return": {}}"#)
        #expect(events.count == 1 && events.first?.hasSuffix(#", "event": "RESUME"}"#) == true, "\(events)")
        let resume = try #require(second.readLine())
        #expect(resume == events.first)
        #expect(resume.range(of: #"^\{"timestamp": \{"seconds": [0-9]+, "microseconds": [0-9]+\}, "event": "RESUME"\}$"#, options: .regularExpression) != nil)
        #expect(first.command(#"{"execute": "query-status"}"#) == #"{"return": {"status": "running", "singlestep": false, "running": true}}"#)
        #expect(first.command(#"{"execute": "human-monitor-command", "arguments": {"command-line": "info status"}}"#)
            == #"{"return": "VM status: running\r\n"}"#)
        #expect(first.command(#"{"execute": "human-monitor-command", "arguments": {"command-line": "nosuchcmd arg1"}}"#)
            == #"{"return": "unknown command: 'nosuchcmd'\r\n"}"#)
        #expect(first.command(#"{"execute": "human-monitor-command", "arguments": {"command-line": ""}}"#) == #"{"return": ""}"#)
        events = []
        #expect(first.command(#"{"execute": "human-monitor-command", "arguments": {"command-line": "stop"}}"#, events: &events)
            == #"{"return": ""}"#)
        #expect(events.count == 1 && events.first?.hasSuffix(#""event": "STOP"}"#) == true)
        #expect(second.readLine()?.hasSuffix(#""event": "STOP"}"#) == true)
        #expect(first.command(#"{"execute": "stop"}"#) == #"{"return": {}}"#)
        // A client that sends garbage costs nobody else.
        second.sendRaw(String(repeating: "}]x", count: 10_000))
        #expect(first.command(#"{"execute": "query-name"}"#) == #"{"return": {}}"#)
        #expect(idle.isQuiet())
        // A client that never reads while its replies pile up is dropped once its output passes the bound; the
        // others go on, and its events stop.
        let hog = try RawQMPClient(path: scratch.file("q.sock"))
        hog.negotiate()
        let flood = String(repeating: "}", count: 64 << 10)
        for _ in 0..<8 { hog.sendRaw(flood) }
        #expect(first.command(#"{"execute": "cont"}"#) == #"{"return": {}}"#)
        #expect(first.command(#"{"execute": "query-status"}"#) == #"{"return": {"status": "running", "singlestep": false, "running": true}}"#)
        // It sees its end (EOF, or a reset for the input hmp left unread) well before the read times out.
        let started = Date()
        var lines = 0
        while hog.readLine(timeout: 20) != nil { lines += 1 }
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(lines < 8 * 65536, "\(lines)")
        first.sendRaw(#"{"execute":"quit","id":"bye"}"#)
        let shutdown = try #require(first.readLine())
        #expect(shutdown.hasSuffix(#", "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#))
        #expect(first.readLine() == #"{"return": {}, "id": "bye"}"#)
        #expect(first.readLine(timeout: 5) == nil)
        #expect(hmp.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: scratch.file("q.sock")))
    }
}

@Suite(.serialized)
struct QMPServerMigrationTests {
    private func reply(_ client: RawQMPClient, _ text: String) -> [String: Any] {
        client.returned(text) as? [String: Any] ?? [:]
    }

    /// `migrate` with blk through QMP to a second hmp waiting on -incoming, watched with query-migrate until
    /// completed; RAM (pmemsave through human-monitor-command) and disk checked byte for byte.
    @Test func blockMigrationWatchedWithQueryMigrate() throws {
        let scratch = TempDir()
        let source = scratch.patternFile("src.img", size: 16 << 20, seed: 7)
        let target = scratch.file("dst.img")
        _ = FileManager.default.createFile(atPath: target, contents: Data(count: 16 << 20))
        let port = freePort()
        let destination = try HMPProcess([
            "-m", "64", "-drive", "file=\(target)", "-incoming", "tcp:127.0.0.1:\(port)", "-monitor", "none",
            "-qmp", "unix:\(scratch.file("d.sock")),server=on,wait=off",
        ])
        defer { destination.close() }
        let sourceHMP = try HMPProcess([
            "-m", "64", "-drive", "file=\(source)", "-workload", "ram=8M,disk=1M", "-monitor", "none",
            "-qmp", "unix:\(scratch.file("s.sock")),server=on,wait=off",
        ])
        defer { sourceHMP.close() }
        let src = try RawQMPClient(path: scratch.file("s.sock"))
        let dst = try RawQMPClient(path: scratch.file("d.sock"))
        src.negotiate()
        dst.negotiate()
        #expect(dst.command(#"{"execute": "query-status"}"#)
            == #"{"return": {"status": "inmigrate", "singlestep": false, "running": false}}"#)
        #expect(src.command(#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}"#) == #"{"return": {}}"#)
        #expect(src.command(#"{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 33554432}}"#) == #"{"return": {}}"#)
        var events: [String] = []
        #expect(src.command(#"{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:\#(port)", "blk": true}}"#, events: &events)
            == #"{"return": {}}"#)
        #expect(events.first?.hasSuffix(#""event": "MIGRATION", "data": {"status": "setup"}}"#) == true, "\(events)")
        #expect(src.command(#"{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:\#(port)", "blk": true}}"#, events: &events)
            == #"{"error": {"class": "GenericError", "desc": "There's a migration process in progress"}}"#)
        var sawActiveDisk = false
        var last: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            guard let line = src.command(#"{"execute": "query-migrate"}"#, events: &events) else { break }
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            last = object?["return"] as? [String: Any] ?? [:]
            let status = last["status"] as? String
            if status == "active" {
                #expect(line.hasPrefix(#"{"return": {"expected-downtime": "#), "\(line)")
                // The engine sizes the disks during setup: total may still be 0 on the first active poll.
                if let disk = last["disk"] as? [String: Any], disk["total"] as? Int == 16 << 20 {
                    sawActiveDisk = true
                }
                #expect((last["ram"] as? [String: Any])?["page-size"] as? Int == 4096)
            }
            if status == "completed" || status == "failed" { break }
            usleep(50_000)
        }
        #expect(last["status"] as? String == "completed", "\(last)")
        #expect(last["disk"] == nil && last["downtime"] != nil && last["ram"] != nil)
        #expect(sawActiveDisk)
        #expect(events.contains { $0.hasSuffix(#""event": "MIGRATION", "data": {"status": "completed"}}"#) }, "\(events)")
        // Every status and pass as it happened, in order, not only what a poll caught.
        let migrationEvents = events.compactMap { line -> String? in
            guard let range = line.range(of: #""event": "MIGRATION"#) else { return nil }
            return String(line[range.lowerBound...])
        }
        // As QEMU 7.2: the setup's bitmap sync is pass 1, reported before the status turns active.
        #expect(Array(migrationEvents.prefix(3)) == [
            #""event": "MIGRATION", "data": {"status": "setup"}}"#,
            #""event": "MIGRATION_PASS", "data": {"pass": 1}}"#,
            #""event": "MIGRATION", "data": {"status": "active"}}"#,
        ], "\(events)")
        #expect(migrationEvents.last == #""event": "MIGRATION", "data": {"status": "completed"}}"#, "\(events)")
        #expect(events.contains { $0.hasSuffix(#""event": "STOP"}"#) }, "\(events)")
        #expect(src.command(#"{"execute": "query-status"}"#)
            == #"{"return": {"status": "postmigrate", "singlestep": false, "running": false}}"#)
        // The destination runs once the whole stream has loaded; its RESUME comes as an event.
        var state = ""
        let loaded = Date().addingTimeInterval(20)
        while state != "running" && Date() < loaded {
            state = (reply(dst, #"{"execute": "query-status"}"#)["status"] as? String) ?? ""
            if state != "running" { usleep(50_000) }
        }
        #expect(state == "running")
        let info = try #require(src.returned(#"{"execute": "human-monitor-command", "arguments": {"command-line": "info migrate"}}"#) as? String)
        #expect(info.contains("Migration status: completed\r\n"))
        #expect(info.hasSuffix("\r\n"))
        // Stop the destination's guest (it runs the source's workload on), then compare RAM and disk.
        _ = dst.command(#"{"execute": "stop"}"#)
        for (client, name) in [(src, "src.ram"), (dst, "dst.ram")] {
            let saved = client.returned(#"{"execute": "human-monitor-command", "arguments": {"command-line": "pmemsave 0 67108864 \"\#(scratch.file(name))\""}}"#) as? String
            #expect(saved == "")
        }
        #expect(FileManager.default.contentsEqual(atPath: scratch.file("src.ram"), andPath: scratch.file("dst.ram")))
        _ = dst.command(#"{"execute": "quit"}"#)
        _ = src.command(#"{"execute": "quit"}"#)
        #expect(destination.waitForExit() == 0)
        #expect(sourceHMP.waitForExit() == 0)
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: target))
    }

    /// migrate_cancel mid-way: MIGRATION cancelling comes before its reply, then cancelled; the guest runs on.
    @Test func cancelMidWay() throws {
        let scratch = TempDir()
        let source = scratch.patternFile("src.img", size: 16 << 20, seed: 3)
        let target = scratch.file("dst.img")
        _ = FileManager.default.createFile(atPath: target, contents: Data(count: 16 << 20))
        let port = freePort()
        let destination = try HMPProcess([
            "-m", "64", "-drive", "file=\(target)", "-incoming", "tcp:127.0.0.1:\(port)", "-monitor", "none",
        ])
        defer { destination.close() }
        let hmp = try HMPProcess([
            "-m", "64", "-drive", "file=\(source)", "-monitor", "none",
            "-qmp", "unix:\(scratch.file("s.sock")),server=on,wait=off",
        ])
        defer { hmp.close() }
        let client = try RawQMPClient(path: scratch.file("s.sock"))
        client.negotiate()
        _ = client.command(#"{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}"#)
        _ = client.command(#"{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 1048576}}"#)
        var events: [String] = []
        // The destination may still be starting: retry until it listens.
        var status = ""
        for _ in 0..<50 {
            events = []
            _ = client.command(#"{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:\#(port)", "blk": true}}"#, events: &events)
            usleep(200_000)
            status = (client.returned(#"{"execute": "query-migrate"}"#, events: &events) as? [String: Any])?["status"] as? String ?? ""
            if status == "active" { break }
        }
        #expect(status == "active")
        events = []
        #expect(client.command(#"{"execute": "migrate_cancel"}"#, events: &events) == #"{"return": {}}"#)
        #expect(events.first?.hasSuffix(#""event": "MIGRATION", "data": {"status": "cancelling"}}"#) == true, "\(events)")
        let deadline = Date().addingTimeInterval(10)
        while status != "cancelled" && Date() < deadline {
            usleep(50_000)
            status = (client.returned(#"{"execute": "query-migrate"}"#, events: &events) as? [String: Any])?["status"] as? String ?? ""
        }
        #expect(client.command(#"{"execute": "query-migrate"}"#, events: &events) == #"{"return": {"status": "cancelled"}}"#)
        #expect(events.last?.hasSuffix(#""event": "MIGRATION", "data": {"status": "cancelled"}}"#) == true, "\(events)")
        #expect(client.command(#"{"execute": "query-status"}"#)
            == #"{"return": {"status": "running", "singlestep": false, "running": true}}"#)
    }

    /// HMP's synchronous migrate through human-monitor-command runs detached, with QEMU's line; a failed one
    /// leaves query-migrate at failed with its error-desc.
    @Test func humanMonitorMigrateRunsDetached() throws {
        let scratch = TempDir()
        let hmp = try HMPProcess(["-m", "64", "-monitor", "none", "-qmp", "unix:\(scratch.file("q.sock")),server=on,wait=off"])
        defer { hmp.close() }
        let client = try RawQMPClient(path: scratch.file("q.sock"))
        client.negotiate()
        let port = freePort()
        #expect(client.command(#"{"execute": "human-monitor-command", "arguments": {"command-line": "migrate -b tcp:127.0.0.1:\#(port)"}}"#)
            == #"{"return": "terminal does not allow synchronous migration, continuing detached\r\n"}"#)
        var last: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            last = client.returned(#"{"execute": "query-migrate"}"#) as? [String: Any] ?? [:]
            if last["status"] as? String == "failed" { break }
            usleep(50_000)
        }
        #expect(last["status"] as? String == "failed")
        #expect((last["error-desc"] as? String)?.contains("Connection refused") == true, "\(last)")
        #expect(Set(last.keys) == ["status", "error-desc"])
        #expect(client.command(#"{"execute": "query-status"}"#)
            == #"{"return": {"status": "running", "singlestep": false, "running": true}}"#)
    }

    /// `-qmp tcp:...` beside `-qmp unix:...`: both greet, and `hmp --connect tcp:` drives it.
    @Test func tcpServerBesideUnixServer() throws {
        let scratch = TempDir()
        let port = freePort()
        let server = try HMPProcess([
            "-m", "64", "-monitor", "none", "-qmp", "unix:\(scratch.file("q.sock")),server=on,wait=off",
            "-qmp", "tcp:127.0.0.1:\(port),server=on,wait=off",
        ])
        defer { server.close() }
        let unixClient = try RawQMPClient(path: scratch.file("q.sock"))
        unixClient.negotiate()
        let result = try runHMP(["--connect", "tcp:127.0.0.1:\(port)"], stdin: "stop\ninfo status\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(qemu) VM status: paused\n"), "\(result.stdout)")
        #expect(unixClient.readLine()?.hasSuffix(#""event": "STOP"}"#) == true)
        let bad = try runHMP(["-m", "64", "-qmp", "unix:\(scratch.file("x.sock")),server=on"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("-qmp unix:\(scratch.file("x.sock")),server=on: hmp's QMP server does not wait for a client: add ',wait=off'"), "\(bad.stderr)")
    }

    /// SIGTERM: negotiated clients hear SHUTDOWN host-signal, then EOF; an unnegotiated one only EOF.
    @Test func shutdownOnSignal() throws {
        let scratch = TempDir()
        let hmp = try HMPProcess(["-m", "64", "-monitor", "none", "-qmp", "unix:\(scratch.file("q.sock")),server=on,wait=off"])
        defer { hmp.close() }
        let negotiated = try RawQMPClient(path: scratch.file("q.sock"))
        negotiated.negotiate()
        let idle = try RawQMPClient(path: scratch.file("q.sock"))
        _ = idle.readLine()
        kill(hmp.process.processIdentifier, SIGTERM)
        let line = try #require(negotiated.readLine())
        #expect(line.hasSuffix(#""event": "SHUTDOWN", "data": {"guest": false, "reason": "host-signal"}}"#), "\(line)")
        #expect(negotiated.readLine() == nil)
        #expect(idle.readLine() == nil)
        #expect(hmp.waitForExit() == 0)
        #expect(hmp.errorText.contains("terminating on signal 15"))
    }

    /// `hmp --connect` drives hmp's own QMP server as it drives a QEMU.
    @Test func connectToOwnServer() throws {
        let scratch = TempDir()
        let server = try HMPProcess(["-m", "64", "-S", "-monitor", "none", "-qmp", "unix:\(scratch.file("q.sock")),server=on,wait=off"])
        defer { server.close() }
        _ = try RawQMPClient(path: scratch.file("q.sock"))
        let result = try runHMP(["--connect", "unix:\(scratch.file("q.sock"))"], stdin: "info status\ninfo migrate\ncont\ninfo status\nquit\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("attached to QEMU 7.2.22 (hmp 0.1.0)"))
        #expect(result.stdout.contains("(qemu) VM status: paused (prelaunch)\n"), "\(result.stdout)")
        #expect(result.stdout.contains("(qemu) globals:\nstore-global-state: on\n"))
        #expect(result.stdout.contains("(qemu) VM status: running\n"))
        #expect(server.waitForExit() == 0)
    }
}
