import Glibc
import Testing
import Platform
@testable import Migration
import TestSupport

/// Real sockets, loopback only.
@Suite struct TCPTransportTests {
    /// Connects to `target`, accepts on `listener` and checks bytes both ways.
    func exchange(listener: MigrationListener, target: String) throws {
        let outgoing = try Transport.connect(MigrationURI(parsing: target), fds: { _ in nil }, isCancelled: notCancelled)
        defer { outgoing.close() }
        let incoming = try listener.accept(isCancelled: notCancelled)
        defer { incoming.close() }
        listener.close()
        let forth = pattern(200_000)
        let back = pattern(1000, seed: 9)
        // Write from another thread while this one reads: 200 kB need not fit the socket buffers.
        let wrote = ResultBox<Bool>()
        let fd = outgoing.writeDescriptor
        afterDelay(0) { wrote.set(writeAll(fd, forth)) }
        #expect(readExactly(incoming.readDescriptor, forth.count) == forth)
        let deadline = ContinuousClock.now + .seconds(2)
        while wrote.get() == nil && ContinuousClock.now < deadline { usleep(1000) }
        #expect(wrote.get() == true)
        #expect(writeAll(incoming.writeDescriptor, back))
        #expect(readExactly(outgoing.readDescriptor, back.count) == back)
        #expect(incoming.peerDescription?.hasPrefix("tcp:") == true)
    }

    /// The algorithm a migration socket to this machine should end up with: the first of the preferred ones that
    /// the kernel lets this process set, else the system's own.
    func expectedSameHostAlgorithm() throws -> String {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        for algorithm in SameHostCongestionControl.preferred {
            if case .success = Descriptor.setCongestionControl(probe, algorithm) { return algorithm }
        }
        return try #require(Descriptor.congestionControl(of: probe))
    }

    /// A destination on this machine gets the cheap algorithm, whatever the system default (here often bbr, which
    /// paces every segment); the accepting side, which sends little, keeps the default.
    @Test(arguments: ["127.0.0.1", "[::1]", "0"])
    func sameHostSocketUsesCheapCongestionControl(host: String) throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:\(host == "[::1]" ? "[::1]" : "0"):0", incoming: true))
        defer { listener.close() }
        let port = try #require(listener.port)
        let outgoing = try Transport.connect(
            MigrationURI(parsing: "tcp:\(host):\(port)"), fds: { _ in nil }, isCancelled: notCancelled)
        defer { outgoing.close() }
        #expect(Descriptor.congestionControl(of: outgoing.writeDescriptor) == (try expectedSameHostAlgorithm()))
    }

    @Test func ipv4() throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:127.0.0.1:0", incoming: true))
        let port = try #require(listener.port)
        #expect(listener.socketAddresses == ["tcp:127.0.0.1:\(port)"])
        try exchange(listener: listener, target: "tcp:127.0.0.1:\(port)")
    }

    @Test func ipv6() throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:[::1]:0", incoming: true))
        let port = try #require(listener.port)
        #expect(listener.socketAddresses == ["tcp:::1:\(port)"])
        try exchange(listener: listener, target: "tcp:[::1]:\(port)")
    }

    @Test func localhost() throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:localhost:0", incoming: true))
        try exchange(listener: listener, target: "tcp:localhost:\(try #require(listener.port))")
    }

    /// `tcp:0:PORT` and `tcp::PORT` listen on every address: reachable over IPv4 and IPv6.
    @Test(arguments: ["tcp:0:0", "tcp::0"])
    func allAddresses(uri: String) throws {
        for target in ["127.0.0.1", "[::1]"] {
            let listener = try Transport.listen(MigrationURI(parsing: uri, incoming: true))
            try exchange(listener: listener, target: "tcp:\(target):\(try #require(listener.port))")
        }
    }

    /// Connecting to host `0` reaches the local machine, as QEMU's `migrate tcp:0:PORT` does on Linux.
    @Test func connectToHostZero() throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:0:0", incoming: true))
        try exchange(listener: listener, target: "tcp:0:\(try #require(listener.port))")
    }

    @Test func connectionRefused() throws {
        let port = freePort()
        #expect(throws: MigrationError("Failed to connect to '127.0.0.1:\(port)': Connection refused")) {
            try Transport.connect(MigrationURI(parsing: "tcp:127.0.0.1:\(port)"), fds: { _ in nil }, isCancelled: notCancelled)
        }
        // QEMU names an IPv6 host without brackets.
        #expect(throws: MigrationError("Failed to connect to '::1:\(port)': Connection refused")) {
            try Transport.connect(MigrationURI(parsing: "tcp:[::1]:\(port)"), fds: { _ in nil }, isCancelled: notCancelled)
        }
    }

    @Test func unknownService() {
        #expect(throws: MigrationError("address resolution failed for 127.0.0.1:abc: Servname not supported for ai_socktype")) {
            try Transport.connect(MigrationURI(parsing: "tcp:127.0.0.1:abc"), fds: { _ in nil }, isCancelled: notCancelled)
        }
    }

    /// Of two addresses the first refuses: the second is tried and connects; the display name is the URI's.
    @Test func triesEachAddressInTurn() throws {
        let refused = freePort()
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:127.0.0.1:0", incoming: true))
        defer { listener.close() }
        let good = try #require(listener.port)
        let addresses = try resolveAddresses(host: "::1", port: "\(refused)", passive: false)
            + resolveAddresses(host: "127.0.0.1", port: "\(good)", passive: false)
        let fd = try connectSocket(to: addresses, display: "twohost:\(good)", isCancelled: notCancelled)
        defer { close(fd) }
        let incoming = try listener.accept(isCancelled: notCancelled)
        defer { incoming.close() }
        #expect(writeAll(fd, [1, 2, 3]))
        #expect(readExactly(incoming.readDescriptor, 3) == [1, 2, 3])
        // When all fail, the last error is reported under the display name.
        let bad = try resolveAddresses(host: "::1", port: "\(refused)", passive: false)
            + resolveAddresses(host: "127.0.0.1", port: "\(refused)", passive: false)
        #expect(throws: MigrationError("Failed to connect to 'twohost:\(refused)': Connection refused")) {
            try connectSocket(to: bad, display: "twohost:\(refused)", isCancelled: notCancelled)
        }
    }

    @Test(arguments: ["127.0.0.1", "0"])
    func portInUse(host: String) throws {
        let first = try Transport.listen(MigrationURI(parsing: "tcp:\(host):0", incoming: true))
        defer { first.close() }
        let port = try #require(first.port)
        #expect(throws: MigrationError("Failed to find an available port: Address already in use")) {
            try Transport.listen(MigrationURI(parsing: "tcp:\(host):\(port)", incoming: true))
        }
    }

    /// A cancelled accept returns within a poll slice.
    @Test func acceptSeesCancel() throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:127.0.0.1:0", incoming: true))
        defer { listener.close() }
        let start = ContinuousClock.now
        let outcome = onThread(within: 2) { () -> MigrationError? in
            do throws(MigrationError) {
                _ = try listener.accept(isCancelled: { ContinuousClock.now - start > .milliseconds(200) })
                return nil
            } catch { return error }
        }
        #expect(outcome == connectCancelledError)
    }

    /// close() from another thread makes a pending accept fail promptly.
    @Test func closeWakesAcceptInAnotherThread() throws {
        let listener = try Transport.listen(MigrationURI(parsing: "tcp:127.0.0.1:0", incoming: true))
        afterDelay(0.2) { listener.close() }
        let outcome = onThread(within: 2) { () -> MigrationError? in
            do throws(MigrationError) {
                _ = try listener.accept(isCancelled: notCancelled)
                return nil
            } catch { return error }
        }
        #expect(outcome == MigrationListener.closedError)
    }
}
