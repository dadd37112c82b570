import Platform
import Testing

/// socket_parse and inet_parse as QEMU 7.2 answered `migrate URI` for each text (its `Error: ...` line).
@Suite struct QEMUSocketAddressTests {
    private func failure(_ text: String) -> String? {
        do throws(QEMUSocketAddress.Failure) {
            _ = try QEMUSocketAddress.parse(text)
            return nil
        } catch {
            return error.qemuText
        }
    }

    @Test func qemuRefusals() {
        #expect(failure("tcp:nohost") == "error parsing address 'nohost'")
        #expect(failure("tcp:a:") == "error parsing address 'a:'")
        #expect(failure("tcp:[::1:4444") == "error parsing IPv6 address '[::1:4444'")
        #expect(failure("tcp::") == "error parsing port in address ':'")
        #expect(failure("unix:") == "invalid Unix socket address")
    }

    @Test func forms() throws {
        #expect(try QEMUSocketAddress.parse("unix:/tmp/a,b") == .unix(path: "/tmp/a,b"))
        #expect(try QEMUSocketAddress.parse("tcp::4444") == .tcp(host: "", port: "4444"))
        #expect(try QEMUSocketAddress.parse("tcp:[::1]:4444") == .tcp(host: "::1", port: "4444"))
        // Split at the first colon, options after a comma dropped, as inet_parse.
        #expect(try QEMUSocketAddress.parse("tcp:a:b:c") == .tcp(host: "a", port: "b:c"))
        #expect(try QEMUSocketAddress.parse("tcp:h:1,ipv4") == .tcp(host: "h", port: "1"))
        #expect(QEMUSocketAddress.tcp(host: "::1", port: "1").description == "tcp:[::1]:1")
        #expect(QEMUSocketAddress.unix(path: "/s").description == "unix:/s")
    }

    /// sscanf's widths: a host of 64 bytes fits, 65 does not.
    @Test func hostWidth() throws {
        let host = String(repeating: "h", count: 64)
        #expect(try QEMUSocketAddress.parseInet("\(host):1") == (host: host, port: "1"))
        #expect(failure("tcp:\(host)h:1") == "error parsing address '\(host)h:1'")
    }
}
