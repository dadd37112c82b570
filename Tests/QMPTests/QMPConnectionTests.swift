import Glibc
import Platform
import QMP
import QObject
import Testing

/// The client against a scripted server on a socketpair: greeting, negotiation, ids, errors and events.
@Suite struct QMPConnectionTests {
    private func pair() throws -> (QMPConnection, Int32) {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        return (QMPConnection(descriptor: fds[0]), fds[1])
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
        let (client, server) = try pair()
        defer { Descriptor.close(server) }
        let greeting = #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}"#
        try Descriptor.writeAll(server, greeting + "\r\n")
        let serverThread = try PlatformThread.start { [server] in
            let negotiate = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"return": {}, "id": \#(negotiate["id"]!.json)}"# + "\r\n")
            let stop = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}"#
                + "\r\n" + #"{"return": {}, "id": \#(stop["id"]!.json)}"# + "\r\n")
            let bad = self.readRequest(server)
            try? Descriptor.writeAll(server, #"{"id": \#(bad["id"]!.json), "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}"# + "\r\n")
        }.get()
        let version = try client.handshake()
        #expect(version.version == "7.2.22")
        #expect(try client.execute("stop") == .dict(QDict()))
        #expect(client.takeEvents() == [QMPEvent(name: "STOP", seconds: 1, microseconds: 2)])
        #expect(throws: QMPError.command(QMPCommandError(class: "CommandNotFound", description: "The command nosuch has not been found"))) {
            try client.execute("nosuch")
        }
        pthread_join(serverThread, nil)
    }

    @Test func aServerThatGoesAwayIsConnectionClosed() throws {
        let (client, server) = try pair()
        Descriptor.close(server)
        #expect(throws: QMPError.connectionClosed) { try client.handshake(timeout: 1000) }
    }

    @Test func aSilentServerTimesOut() throws {
        let (client, server) = try pair()
        defer { Descriptor.close(server) }
        #expect(throws: QMPError.timedOut("the QMP greeting")) { try client.handshake(timeout: 100) }
    }
}
