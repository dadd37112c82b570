import Testing
@testable import Migration

@Suite struct MigrationURITests {
    @Test func parsesEveryScheme() throws {
        #expect(try MigrationURI(parsing: "tcp:127.0.0.1:4444") == .tcp(host: "127.0.0.1", port: "4444"))
        #expect(try MigrationURI(parsing: "tcp:localhost:4444") == .tcp(host: "localhost", port: "4444"))
        #expect(try MigrationURI(parsing: "tcp:[::1]:4444") == .tcp(host: "::1", port: "4444"))
        #expect(try MigrationURI(parsing: "tcp:0:4444") == .tcp(host: "0", port: "4444"))
        #expect(try MigrationURI(parsing: "tcp::4444") == .tcp(host: "", port: "4444"))
        // As QEMU's sscanf: the host ends at the first colon, the port at the first comma.
        #expect(try MigrationURI(parsing: "tcp:a:b:c") == .tcp(host: "a", port: "b:c"))
        #expect(try MigrationURI(parsing: "tcp:127.0.0.1:1,to=3") == .tcp(host: "127.0.0.1", port: "1"))
        #expect(try MigrationURI(parsing: "unix:/tmp/sock") == .unix(path: "/tmp/sock"))
        #expect(try MigrationURI(parsing: "exec:cat > /tmp/x") == .exec(command: "cat > /tmp/x"))
        #expect(try MigrationURI(parsing: "exec:") == .exec(command: ""))
        #expect(try MigrationURI(parsing: "fd:mig") == .fd(name: "mig"))
        #expect(try MigrationURI(parsing: "defer", incoming: true) == .deferred)
    }

    @Test func describesAsWritten() throws {
        #expect(try MigrationURI(parsing: "tcp:[::1]:4444").description == "tcp:[::1]:4444")
        #expect(try MigrationURI(parsing: "tcp:0:4444").description == "tcp:0:4444")
        #expect(try MigrationURI(parsing: "unix:/a").description == "unix:/a")
    }

    /// Each text as QEMU 7.2 prints it after `Error: ` (checked against qemu-system-x86_64 7.2).
    @Test(arguments: [
        ("foo:bar", "Parameter 'uri' expects a valid migration protocol"),
        ("foo", "Parameter 'uri' expects a valid migration protocol"),
        ("defer", "Parameter 'uri' expects a valid migration protocol"),
        ("tcp:localhost", "error parsing address 'localhost'"),
        ("tcp:", "error parsing address ''"),
        ("tcp:127.0.0.1:", "error parsing address '127.0.0.1:'"),
        ("tcp:[::1", "error parsing IPv6 address '[::1'"),
        ("tcp:[::1]", "error parsing IPv6 address '[::1]'"),
        ("tcp:[::1]:", "error parsing IPv6 address '[::1]:'"),
        ("tcp:[::1]x:1", "error parsing IPv6 address '[::1]x:1'"),
        ("tcp:[]:1", "error parsing IPv6 address '[]:1'"),
        ("tcp::", "error parsing port in address ':'"),
        ("unix:", "invalid Unix socket address"),
    ])
    func outgoingErrors(text: String, message: String) {
        #expect(throws: MigrationError(message)) { try MigrationURI(parsing: text) }
    }

    @Test func incomingUnknownProtocol() {
        #expect(throws: MigrationError("unknown migration protocol: foo:bar")) {
            try MigrationURI(parsing: "foo:bar", incoming: true)
        }
    }

    @Test func hostLongerThanQEMUsBuffer() throws {
        let host = String(repeating: "h", count: 65)
        #expect(throws: MigrationError("error parsing address '\(host):1'")) { try MigrationURI(parsing: "tcp:\(host):1") }
        #expect(try MigrationURI(parsing: "tcp:\(host.dropLast()):1") == .tcp(host: String(host.dropLast()), port: "1"))
    }
}
