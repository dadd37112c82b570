import Foundation
import Glibc
import Testing
@testable import Migration
import TestSupport

@Suite struct UnixTransportTests {
    @Test func connectAndAccept() throws {
        let directory = TempDir()
        let path = directory.file("sock")
        let listener = try Transport.listen(MigrationURI(parsing: "unix:\(path)", incoming: true))
        #expect(listener.socketAddresses == ["unix:\(path)"])
        let outgoing = try Transport.connect(.unix(path: path), fds: { _ in nil }, isCancelled: notCancelled)
        defer { outgoing.close() }
        let incoming = try listener.accept(isCancelled: notCancelled)
        defer { incoming.close() }
        listener.close()
        #expect(access(path, F_OK) != 0, "close unlinks the socket path")
        #expect(writeAll(outgoing.writeDescriptor, pattern(5000)))
        #expect(readExactly(incoming.readDescriptor, 5000) == pattern(5000))
        #expect(writeAll(incoming.writeDescriptor, [42]))
        #expect(readExactly(outgoing.readDescriptor, 1) == [42])
        #expect(outgoing.peerDescription == "unix:\(path)")
    }

    @Test func errors() {
        #expect(throws: MigrationError("Failed to connect to '/nonexistent/x': No such file or directory")) {
            try Transport.connect(.unix(path: "/nonexistent/x"), fds: { _ in nil }, isCancelled: notCancelled)
        }
        #expect(throws: MigrationError("Failed to bind socket to /nonexistent/x: No such file or directory")) {
            try Transport.listen(.unix(path: "/nonexistent/x"))
        }
        let long = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: MigrationError("UNIX socket path '\(long)' is too long")) {
            try Transport.connect(.unix(path: long), fds: { _ in nil }, isCancelled: notCancelled)
        }
    }
}

@Suite struct ExecTransportTests {
    /// `exec:cat > FILE` gets the whole stream, and the file is complete once close() returns.
    @Test func outgoingWritesToCommandStdin() throws {
        let directory = TempDir()
        let file = directory.file("out")
        let channel = try Transport.connect(.exec(command: "cat > '\(file)'"), fds: { _ in nil }, isCancelled: notCancelled)
        let bytes = pattern(3_000_000)
        #expect(writeAll(channel.writeDescriptor, bytes))
        channel.close()
        channel.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(bytes))
    }

    /// `exec:cat FILE` on the incoming side: the stream is the command's stdout.
    @Test func incomingReadsCommandStdout() throws {
        let directory = TempDir()
        let file = directory.file("in")
        let bytes = pattern(1_000_000, seed: 3)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let listener = try Transport.listen(.exec(command: "cat '\(file)'"))
        let channel = try listener.accept(isCancelled: notCancelled)
        listener.close()
        defer { channel.close() }
        #expect(readToEnd(channel.readDescriptor) == bytes)
    }

    /// A command that never reads: the blocked write fails once shutdown() kills it.
    @Test func shutdownUnblocksWriteToCommand() throws {
        let channel = try Transport.connect(.exec(command: "sleep 30"), fds: { _ in nil }, isCancelled: notCancelled)
        defer { channel.close() }
        afterDelay(0.3) { channel.shutdown() }
        let fd = channel.writeDescriptor
        // Built before the timed part: the pipe holds 64 KiB, so this write blocks until the command dies.
        let buffer = [UInt8](repeating: 1, count: 8 << 20)
        let wrote = onThread(within: 1) { writeAll(fd, buffer) }
        #expect(wrote == false)
    }

    /// A command that never writes: the blocked read sees EOF once shutdown() kills it.
    @Test func shutdownUnblocksReadFromCommand() throws {
        let listener = try Transport.listen(.exec(command: "sleep 30"))
        let channel = try listener.accept(isCancelled: notCancelled)
        listener.close()
        defer { channel.close() }
        afterDelay(0.3) { channel.shutdown() }
        let fd = channel.readDescriptor
        let read = onThread(within: 1.5) { readToEnd(fd) }
        #expect(read == [])
    }

    /// A command that ignores the end of its stream is killed after close()'s 5 s grace.
    @Test func closeKillsALingeringCommand() throws {
        let channel = try Transport.connect(.exec(command: "sleep 30"), fds: { _ in nil }, isCancelled: notCancelled)
        let start = ContinuousClock.now
        let closed = onThread(within: 7) { channel.close(); return true }
        #expect(closed == true)
        #expect(ContinuousClock.now - start >= .seconds(5))
    }

    /// After shutdown() the command is already dead: close() does not wait.
    @Test func closeKillsALingeringCommandAfterShutdown() throws {
        let channel = try Transport.connect(.exec(command: "sleep 30"), fds: { _ in nil }, isCancelled: notCancelled)
        channel.shutdown()
        let closed = onThread(within: 1) { channel.close(); return true }
        #expect(closed == true)
    }
}

@Suite struct FDTransportTests {
    @Test func outgoingUsesTheNamedDescriptor() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[1]) }
        let mine = pair[0]
        let channel = try Transport.connect(.fd(name: "mig"), fds: { $0 == "mig" ? mine : nil }, isCancelled: notCancelled)
        #expect(writeAll(channel.writeDescriptor, [1, 2, 3]))
        #expect(readExactly(pair[1], 3) == [1, 2, 3])
        channel.close()
        #expect(readToEnd(pair[1]) == [], "the channel owns and closes the descriptor")
    }

    @Test func errors() {
        #expect(throws: MigrationError("File descriptor named 'nope' has not been found")) {
            try Transport.connect(.fd(name: "nope"), fds: { _ in nil }, isCancelled: notCancelled)
        }
        // Outgoing, a number is a name too (QEMU's monitor_get_fd).
        #expect(throws: MigrationError("File descriptor named '9' has not been found")) {
            try Transport.connect(.fd(name: "9"), fds: { _ in nil }, isCancelled: notCancelled)
        }
        #expect(throws: MigrationError("Invalid file descriptor number '9x'")) {
            try Transport.listen(.fd(name: "9x"))
        }
        #expect(throws: MigrationError("File descriptor named 'nope' has not been found")) {
            try Transport.listen(.fd(name: "nope"))
        }
    }

    /// Incoming, a number names a descriptor directly (QEMU's monitor_fd_param).
    @Test func incomingNumber() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[1]) }
        let listener = try Transport.listen(.fd(name: "\(pair[0])"))
        let channel = try listener.accept(isCancelled: notCancelled)
        defer { channel.close() }
        #expect(writeAll(pair[1], [9]))
        #expect(readExactly(channel.readDescriptor, 1) == [9])
    }
}

@Suite struct ShutdownTests {
    /// A connected pair over loopback tcp.
    func pair() throws -> (MigrationChannel, MigrationChannel) {
        let listener = try Transport.listen(.tcp(host: "127.0.0.1", port: "0"))
        defer { listener.close() }
        let outgoing = try Transport.connect(.tcp(host: "127.0.0.1", port: "\(listener.port!)"), fds: { _ in nil },
                                             isCancelled: notCancelled)
        return (outgoing, try listener.accept(isCancelled: notCancelled))
    }

    @Test func unblocksARead() throws {
        let (outgoing, incoming) = try pair()
        defer { outgoing.close(); incoming.close() }
        afterDelay(0.2) { incoming.shutdown() }
        let fd = incoming.readDescriptor
        let start = ContinuousClock.now
        let read = onThread(within: 1) { readToEnd(fd) }
        #expect(read == [])
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func unblocksAWrite() throws {
        let (outgoing, incoming) = try pair()
        defer { outgoing.close(); incoming.close() }
        afterDelay(0.2) { outgoing.shutdown() }
        let fd = outgoing.writeDescriptor
        // The peer never reads: 64 MB cannot fit the socket buffers, so the write blocks until shutdown.
        let wrote = onThread(within: 1) { writeAll(fd, [UInt8](repeating: 1, count: 64 << 20)) }
        #expect(wrote == false)
    }

    @Test func shutdownAfterCloseIsHarmless() throws {
        let (outgoing, incoming) = try pair()
        outgoing.close()
        outgoing.shutdown()
        incoming.shutdown()
        incoming.close()
        incoming.close()
    }
}

@Suite struct ConnectCancelTests {
    /// A connect that is still pending sees isCancelled. The network rule allows only loopback, so the pending
    /// connect is made to a listener whose backlog is full; where the kernel completes it anyway, the test only
    /// checks that a cancelled connect never starts.
    @Test func cancelledConnectReturns() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        _ = Glibc.listen(listener, 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        // Fill the backlog with connections nobody accepts.
        var fillers: [MigrationChannel] = []
        defer { for filler in fillers { filler.close() } }
        let deadline = ContinuousClock.now + .milliseconds(300)
        for _ in 0..<8 {
            let quickGiveUp: @Sendable () -> Bool = { ContinuousClock.now > deadline }
            guard let filler = try? Transport.connect(.tcp(host: "127.0.0.1", port: "\(port)"), fds: { _ in nil },
                                                      isCancelled: quickGiveUp) else { break }
            fillers.append(filler)
        }
        let start = ContinuousClock.now
        let outcome = onThread(within: 2) { () -> MigrationError? in
            do throws(MigrationError) {
                let channel = try Transport.connect(.tcp(host: "127.0.0.1", port: "\(port)"), fds: { _ in nil },
                                                    isCancelled: { ContinuousClock.now - start > .milliseconds(200) })
                channel.close()
                return nil
            } catch { return error }
        }
        #expect(outcome != nil || fillers.count == 8, "either the connect was pending and got cancelled, or the kernel never filled the backlog")
        if let outcome { #expect(outcome == connectCancelledError) }
        #expect(throws: connectCancelledError) {
            try Transport.connect(.tcp(host: "127.0.0.1", port: "\(port)"), fds: { _ in nil }, isCancelled: { true })
        }
    }
}
