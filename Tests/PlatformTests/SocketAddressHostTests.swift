import Glibc
import Testing
@testable import Platform

/// Which peers count as this machine (addresses built in memory: nothing is sent anywhere).
struct SocketAddressHostTests {
    func address(_ text: String) -> SocketAddress {
        if text.contains(":") {
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            _ = inet_pton(AF_INET6, text, &v6.sin6_addr)
            return wrap(&v6)
        }
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        _ = inet_pton(AF_INET, text, &v4.sin_addr)
        return wrap(&v4)
    }

    func wrap<Address>(_ address: inout Address) -> SocketAddress {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                SocketAddress($0, length: socklen_t(MemoryLayout<Address>.size))
            }
        }
    }

    @Test(arguments: ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"])
    func loopback(_ text: String) {
        #expect(address(text).isLoopback)
        #expect(address(text).isOnSameHost(as: address("192.0.2.7")))
    }

    @Test(arguments: ["192.0.2.1", "::2", "2001:db8::1", "::ffff:192.0.2.1", "128.0.0.1"])
    func notLoopback(_ text: String) {
        #expect(!address(text).isLoopback)
        #expect(!address(text).isOnSameHost(as: address("192.0.2.7")))
        // The machine's own address at both ends is still this machine.
        #expect(address(text).isOnSameHost(as: address(text)))
    }

    @Test func mappedAndPlainIPv4AreTheSameHost() {
        #expect(address("::ffff:192.0.2.1").ipBytes == [192, 0, 2, 1])
        #expect(address("::ffff:192.0.2.1").isOnSameHost(as: address("192.0.2.1")))
    }

    @Test func unixAddressesHaveNoHost() throws {
        let unix = try #require(SocketAddress.unix(path: "/tmp/x.sock"))
        #expect(unix.ipBytes == nil)
        #expect(!unix.isLoopback)
        #expect(!unix.isOnSameHost(as: unix))
    }
}
