import Glibc
import Platform
import SystemPackage
import Testing

/// The one listener set-up: unix (stale file replaced, owner-only on request, too-long paths refused) and tcp.
@Suite struct ListenerTests {
    private func scratchPath(_ name: String) -> String {
        "/tmp/hmp-listener-\(getpid())-\(name).sock"
    }

    @Test func unixReplacesAStaleFileAndIsOwnerOnly() throws {
        let path = scratchPath("unix")
        defer { unlink(path) }
        let first = try Listener.unix(path: path, backlog: 1)
        Descriptor.close(first)
        // The file of a listener that went away is stale: a new listener takes its place.
        let fd = try Listener.unix(path: path, backlog: 1, ownerOnly: true)
        defer { Descriptor.close(fd) }
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o077 == 0)
    }

    @Test func unixPathTooLong() {
        let path = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: Listener.Failure(.pathTooLong, .fileNameTooLong)) {
            try Listener.unix(path: path, backlog: 1)
        }
    }

    @Test func unixBindFailureNamesTheStep() {
        #expect(throws: Listener.Failure(.bind, .noSuchFileOrDirectory)) {
            try Listener.unix(path: "/nonexistent-dir/x.sock", backlog: 1)
        }
    }

    @Test func tcpTakesTheNextAddressWhenOneIsInUse() throws {
        let loopback = try AddressResolver.resolve(host: "127.0.0.1", port: "0", passive: true)
        let first = try Listener.tcp(loopback, backlog: 1)
        defer { Descriptor.close(first) }
        let port = try #require(SocketAddress.local(of: first)?.numericHostAndPort?.port)
        let taken = try AddressResolver.resolve(host: "127.0.0.1", port: port, passive: true)
        #expect(throws: Listener.Failure(.noFreeAddress, .addressInUse)) {
            try Listener.tcp(taken, backlog: 1)
        }
        let second = try Listener.tcp(taken + loopback, backlog: 1)
        Descriptor.close(second)
    }
}
