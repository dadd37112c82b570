public import Platform
public import QMP

/// Where the monitor listens, from `-monitor`.
public enum MonitorEndpoint: Sendable, Equatable {
    case stdio
    case none
    /// A unix socket that serves one client at a time; `wait` holds start-up until the first client connects.
    case unixSocket(path: String, wait: Bool)
    /// `-qmp unix:PATH,server=on,wait=off` or `-qmp tcp:HOST:PORT,server=on,wait=off`: a QMP server;
    /// `-qmp-pretty` the same, its JSON indented as QEMU's.
    case qmp(QMPAddress, pretty: Bool)

    /// Reads `-qmp`'s spelling. The server never waits for its first client: `wait=off` is required.
    public init(qmp text: String, pretty: Bool = false) throws(MonitorEndpointError) {
        func fail(_ reason: String) -> MonitorEndpointError {
            MonitorEndpointError(
                text: text, reason: reason, option: pretty ? "-qmp-pretty" : "-qmp",
                usage: "use unix:PATH,server=on,wait=off or tcp:HOST:PORT,server=on,wait=off")
        }
        var fields = text.split(separator: ",", omittingEmptySubsequences: false)
        let address = String(fields.removeFirst())
        let (server, wait) = try Self.socketOptions(fields) { fail("unknown socket option '\($0)'") }
        guard server else { throw fail("hmp only listens: add ',server=on'") }
        guard !wait else { throw fail("hmp's QMP server does not wait for a client: add ',wait=off'") }
        do throws(QEMUSocketAddress.Failure) {
            self = .qmp(try QEMUSocketAddress.parse(address), pretty: pretty)
        } catch {
            switch error {
            case .unknownScheme: throw fail("unknown QMP address")
            case .emptyPath: throw fail("the socket path is empty")
            case .port, .ipv6, .address: throw fail("tcp: needs HOST:PORT")
            }
        }
    }

    /// Reads QEMU's chardev spelling: `stdio`, `none`, `unix:PATH,server=on,wait=off` (also `server`, `nowait`).
    public init(parsing text: String) throws(MonitorEndpointError) {
        switch text {
        case "stdio": self = .stdio
        case "none": self = .none
        default:
            guard text.hasPrefix("unix:") else { throw MonitorEndpointError(text: text, reason: "unknown monitor device") }
            var fields = text.dropFirst("unix:".count).split(separator: ",", omittingEmptySubsequences: false)
            let path = String(fields.removeFirst())
            guard !path.isEmpty else { throw MonitorEndpointError(text: text, reason: "the socket path is empty") }
            let (server, wait) = try Self.socketOptions(fields) {
                MonitorEndpointError(text: text, reason: "unknown socket option '\($0)'")
            }
            guard server else {
                throw MonitorEndpointError(text: text, reason: "hmp only listens: add ',server=on'")
            }
            self = .unixSocket(path: path, wait: wait)
        }
    }

    /// QEMU's chardev socket options after the address: `server`/`server=on|off`, `wait`/`nowait`/`wait=on|off`;
    /// QEMU's defaults are no server and waiting. `unknown` words the error for any other option.
    static func socketOptions(
        _ fields: some Sequence<Substring>, unknown: (Substring) -> MonitorEndpointError
    ) throws(MonitorEndpointError) -> (server: Bool, wait: Bool) {
        var server = false
        var wait = true
        for field in fields {
            switch field {
            case "server", "server=on": server = true
            case "server=off": server = false
            case "nowait", "wait=off": wait = false
            case "wait", "wait=on": wait = true
            default: throw unknown(field)
            }
        }
        return (server, wait)
    }
}

public struct MonitorEndpointError: Error, CustomStringConvertible {
    public let text: String
    public let reason: String
    let option: String
    let usage: String

    init(
        text: String, reason: String, option: String = "-monitor",
        usage: String = "use stdio, none, or unix:PATH,server=on,wait=off"
    ) {
        self.text = text
        self.reason = reason
        self.option = option
        self.usage = usage
    }

    public var description: String {
        "\(option) \(text): \(reason) (\(usage))"
    }
}
