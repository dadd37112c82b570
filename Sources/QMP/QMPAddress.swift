import Platform

/// Where a QMP server listens: `unix:PATH` or `tcp:HOST:PORT` (an IPv6 host in brackets, `tcp:[::1]:4445`), as
/// QEMU's `-qmp` names it.
public enum QMPAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: String)

    /// Parses `text`; the error says what form is expected.
    public init(parsing text: String) throws(QMPError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw .badAddress(text, "unix: needs a socket path, as in unix:/tmp/qmp.sock") }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp:") {
            let rest = text.dropFirst("tcp:".count)
            let host: Substring
            let port: Substring
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                    throw .badAddress(text, "an IPv6 host goes in brackets, as in tcp:[::1]:4445")
                }
                host = rest[rest.index(after: rest.startIndex)..<close]
                port = rest[rest.index(close, offsetBy: 2)...]
            } else {
                guard let colon = rest.lastIndex(of: ":") else {
                    throw .badAddress(text, "tcp: needs a host and a port, as in tcp:127.0.0.1:4445")
                }
                host = rest[..<colon]
                port = rest[rest.index(after: colon)...]
            }
            guard !host.isEmpty, !port.isEmpty else {
                throw .badAddress(text, "tcp: needs a host and a port, as in tcp:127.0.0.1:4445")
            }
            self = .tcp(host: String(host), port: String(port))
        } else {
            throw .badAddress(text, "give unix:PATH or tcp:HOST:PORT")
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
        }
    }

    /// A connected socket to the server, trying each address a name resolves to; gives up after `timeout` ms.
    public func connect(timeout milliseconds: UInt64 = 10_000) throws(QMPError) -> Int32 {
        let addresses: [SocketAddress]
        switch self {
        case .unix(let path):
            guard let address = SocketAddress.unix(path: path) else {
                throw .badAddress(description, "the socket path is longer than a unix socket address holds")
            }
            addresses = [address]
        case .tcp(let host, let port):
            do throws(AddressResolutionError) {
                addresses = try AddressResolver.resolve(host: host, port: port, passive: false)
            } catch {
                throw .cannotConnect(description, error.description)
            }
        }
        let deadline = Clock.milliseconds() + milliseconds
        switch SocketConnector.connect(to: addresses, isCancelled: { Clock.milliseconds() >= deadline }) {
        case .connected(let fd): return fd
        case .failed(let errno): throw .cannotConnect(description, errnoText(errno.rawValue))
        case .cancelled: throw .cannotConnect(description, "no answer within \(milliseconds / 1000) s")
        }
    }
}
