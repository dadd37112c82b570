import Foundation
import Testing
import TestSupport

/// A socket client that goes away or stops reading, even in the middle of a synchronous migrate, locks no one
/// out: the next client is served at once, and the migration goes on where every monitor can see and cancel it.
@Suite(.serialized) struct SocketClientIsolationTests {
    @Test func aClientThatLeavesDuringASynchronousMigrateLeavesItDetachedForTheNext() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let port = freePort()
        let destination = try HMPProcess(["-m", "256", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        // 64 MiB/s of dirtying against 1 MiB/s of bandwidth: the migration never converges.
        let source = try HMPProcess(
            ["-m", "256", "-workload", "ram=64M", "-monitor", "unix:\(path),server=on,wait=off"])
        defer { source.close() }
        do {
            let first = try SocketClient(path: path)
            _ = first.readUntilPrompt()
            #expect(first.command("migrate_set_parameter max-bandwidth 1M") == "")
            first.send("migrate tcp:127.0.0.1:\(port)")
            usleep(500_000)
            // `first` goes away here, in the middle of its wait.
        }
        let started = Date()
        let second = try SocketClient(path: path)
        #expect(second.readUntilPrompt(timeout: 5)?.hasPrefix("hmp ") == true)
        #expect(Date().timeIntervalSince(started) < 1, "the next client gets its prompt within a second")
        let info = second.command("info migrate") ?? ""
        #expect(info.contains("Migration status: active"), "\(info)")
        #expect(second.command("migrate_cancel") == "")
        var status = ""
        let deadline = Date().addingTimeInterval(10)
        while !status.contains("Migration status: cancelled") && Date() < deadline {
            status = second.command("info migrate") ?? ""
            usleep(50_000)
        }
        #expect(status.contains("Migration status: cancelled"), "\(status)")
        #expect(second.command("info status") == "VM status: running\n")
        #expect(source.process.isRunning)
    }

    @Test func aClientThatNeverReadsHoldsUpNoOtherClient() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let source = try HMPProcess(["-m", "16", "-monitor", "unix:\(path),server=on,wait=off"])
        defer { source.close() }
        let stuck = try SocketClient(path: path)
        // It sends without end and never reads: hmp's replies fill its socket buffer, then its queue.
        let spamming = Spammer(fd: stuck.fd, line: "info migrate\n")
        spamming.start()
        defer { spamming.stop() }
        usleep(300_000)
        let started = Date()
        let other = try SocketClient(path: path)
        #expect(other.readUntilPrompt(timeout: 5)?.hasPrefix("hmp ") == true)
        for _ in 0..<10 {
            let before = Date()
            #expect(other.command("info status", timeout: 5) == "VM status: running\n")
            #expect(Date().timeIntervalSince(before) < 1, "each command answers promptly")
        }
        #expect(Date().timeIntervalSince(started) < 5)
        // The client that left more than 1 MiB unread has been dropped.
        spamming.waitUntilDropped(timeout: 20)
        #expect(spamming.dropped, "a client that never reads is dropped once its output queue overflows")
        #expect(other.command("info status") == "VM status: running\n")
        #expect(source.process.isRunning)
    }

    @Test func withWaitOnTheFirstClientIsServedBesideTheNext() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let source = try HMPProcess(["-m", "16", "-monitor", "unix:\(path),server=on,wait=on"])
        defer { source.close() }
        let first = try SocketClient(path: path)
        #expect(first.readUntilPrompt(timeout: 5)?.hasPrefix("hmp ") == true)
        // The first client stays connected and idle: the next one is served all the same.
        let second = try SocketClient(path: path)
        #expect(second.readUntilPrompt(timeout: 5)?.hasPrefix("hmp ") == true)
        #expect(second.command("info status", timeout: 5) == "VM status: running\n")
        #expect(first.command("info status", timeout: 5) == "VM status: running\n")
    }

    @Test func atMostEightClientsAtOnceAndTheNinthIsToldWhy() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let source = try HMPProcess(["-m", "16", "-monitor", "unix:\(path),server=on,wait=off"])
        defer { source.close() }
        var clients: [SocketClient] = []
        for _ in 0..<8 {
            let client = try SocketClient(path: path)
            #expect(client.readUntilPrompt(timeout: 5)?.hasPrefix("hmp ") == true)
            clients.append(client)
        }
        let ninth = try SocketClient(path: path)
        var refusal = [UInt8](repeating: 0, count: 200)
        var ready = pollfd(fd: ninth.fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&ready, 1, 5000) == 1, "the ninth client hears from hmp at once")
        let n = read(ninth.fd, &refusal, refusal.count)
        #expect(String(decoding: refusal[0..<max(n, 0)], as: UTF8.self)
            == "Error: too many monitor clients (the limit is 8); try again later\n")
        #expect(read(ninth.fd, &refusal, refusal.count) == 0, "and closed")
        // Once one leaves, the next is served.
        clients.removeFirst()
        var served = false
        let deadline = Date().addingTimeInterval(5)
        while !served && Date() < deadline {
            let next = try SocketClient(path: path)
            served = next.readUntilPrompt(timeout: 1)?.hasPrefix("hmp ") == true
        }
        #expect(served)
        #expect(clients[0].command("info status", timeout: 5) == "VM status: running\n")
    }
}

/// Writes one line over and over without ever reading, until the peer drops the connection or it is stopped.
final class Spammer: @unchecked Sendable {
    private let fd: Int32
    private let line: [UInt8]
    private let lock = NSLock()
    private var stopping = false
    private var sawDrop = false
    private let finished = DispatchSemaphore(value: 0)

    init(fd: Int32, line: String) {
        self.fd = fd
        self.line = Array(line.utf8)
    }

    var dropped: Bool { lock.withLock { sawDrop } }

    func start() {
        Thread.detachNewThread { [self] in
            while !lock.withLock({ stopping || sawDrop }) {
                var fds = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&fds, 1, 50)
                if fds.revents & Int16(POLLHUP | POLLERR) != 0 {
                    lock.withLock { sawDrop = true }
                    break
                }
                if fds.revents & Int16(POLLOUT) == 0 { continue }
                let n = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno != EAGAIN && errno != EINTR {
                    lock.withLock { sawDrop = true }
                }
            }
            finished.signal()
        }
    }

    func waitUntilDropped(timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        while !dropped && Date() < deadline { usleep(20_000) }
    }

    func stop() {
        lock.withLock { stopping = true }
        finished.wait()
    }
}
