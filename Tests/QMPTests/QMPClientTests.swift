import Glibc
import Platform
import QMP
import QObject
import Testing

/// The client against a scripted server on a socketpair: greeting, negotiation, ids, errors, events, deadlines,
/// and a loop that keeps running while the server says nothing.
@Suite struct QMPClientTests {
    private static let greeting =
        #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}"#

    private func pair(_ loop: EventLoop) -> (QMPClient, Int32) {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        return (QMPClient(descriptor: fds[0], loop: loop), fds[1])
    }

    private func readRequest(_ fd: Int32) -> QDict {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return (try? QValue(json: String(decoding: bytes, as: UTF8.self)))?.dict ?? QDict()
    }

    @Test func handshakeThenACommandWithAnEventBeforeItsReply() throws {
        let loop = EventLoop()
        let (client, server) = pair(loop)
        defer { Descriptor.close(server) }
        var events: [QMPEvent] = []
        client.onEvents = { events += $0 }
        try Descriptor.writeAll(server, Self.greeting + "\r\n")
        let serverThread = try PlatformThread.start { [server] in
            let negotiate = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"return": {}, "id": \#(negotiate["id"]!.json)}"# + "\r\n")
            let stop = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}"#
                + "\r\n" + #"{"return": {}, "id": \#(stop["id"]!.json)}"# + "\r\n")
            let bad = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"id": \#(bad["id"]!.json), "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}"# + "\r\n")
        }.get()
        try client.handshake()
        #expect(client.greeting?.version == "7.2.22")
        #expect(try client.call("stop") == .dict(QDict()))
        loop.runOnce(timeout: 0)
        #expect(events == [QMPEvent(name: "STOP", seconds: 1, microseconds: 2)])
        #expect(throws: QMPError.command(QMPCommandError(class: "CommandNotFound", description: "The command nosuch has not been found"))) {
            try client.call("nosuch")
        }
        pthread_join(serverThread, nil)
    }

    @Test func aServerThatGoesAwayIsConnectionClosed() throws {
        let loop = EventLoop()
        let (client, server) = pair(loop)
        Descriptor.close(server)
        #expect(throws: QMPError.connectionClosed) { try client.handshake(timeout: 1000) }
    }

    @Test func aSilentServerTimesOut() throws {
        let loop = EventLoop()
        let (client, server) = pair(loop)
        defer { Descriptor.close(server) }
        #expect(throws: QMPError.timedOut("the QMP greeting", seconds: 0)) { try client.handshake(timeout: 100) }
    }

    /// While a request waits, the loop goes on: a timer fires, and the request ends at its deadline, naming it.
    @Test func aStalledRequestLetsTheLoopRunAndEndsAtItsDeadline() throws {
        let loop = EventLoop()
        let (client, server) = pair(loop)
        defer { Descriptor.close(server) }
        var ticks = 0
        loop.every(milliseconds: 10) { ticks += 1 }
        let start = Clock.milliseconds()
        #expect(throws: QMPError.timedOut("query-migrate", seconds: 1)) {
            try client.call("query-migrate", timeout: 1000)
        }
        let took = Clock.milliseconds() - start
        #expect(took >= 1000 && took < 3000)
        #expect(ticks >= 20)
        // Its late reply is dropped, and the connection is still good for the next request.
        let late = readRequest(server)
        try Descriptor.writeAll(server, #"{"return": {"late": true}, "id": \#(late["id"]!.json)}"# + "\r\n")
        let thread = try PlatformThread.start { [server] in
            let next = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"return": {"ok": true}, "id": \#(next["id"]!.json)}"# + "\r\n")
        }.get()
        #expect(try client.call("query-status", timeout: 5000) == .dict(["ok": true]))
        pthread_join(thread, nil)
    }

    @Test func aReasonToStopWaitingEndsTheWaitAtOnce() throws {
        let loop = EventLoop()
        let (client, server) = pair(loop)
        defer { Descriptor.close(server) }
        var turns = 0
        #expect(throws: QMPError.abandoned("interrupted by ^C")) {
            try client.call("query-status", timeout: 60_000) {
                turns += 1
                return turns > 3 ? "interrupted by ^C" : nil
            }
        }
    }

    /// A flood of events costs bounded memory: past the limit the oldest go, and the count says how many.
    @Test func aFloodOfEventsIsBounded() throws {
        let loop = EventLoop()
        let (client, server) = pair(loop)
        defer { Descriptor.close(server) }
        var delivered = 0
        client.onEvents = { delivered += $0.count }
        let event = #"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RTC_CHANGE", "data": {"offset": 1}}"#
            + "\r\n"
        let burst = String(repeating: event, count: QMPClient.eventLimit * 2)
        let writer = try PlatformThread.start { [server] in try? Descriptor.writeAll(server, burst) }.get()
        // Read everything before the loop delivers: as many turns as it takes, without running posted work.
        let deadline = Clock.milliseconds() + 10_000
        while delivered + client.droppedEvents < QMPClient.eventLimit * 2 && Clock.milliseconds() < deadline {
            loop.runOnce(timeout: 50)
        }
        pthread_join(writer, nil)
        #expect(delivered + client.droppedEvents == QMPClient.eventLimit * 2)
        #expect(delivered >= 1)
    }
}
