public import Platform

/// Where a QMP server listens: `unix:PATH` or `tcp:HOST:PORT` (an IPv6 host in brackets, `tcp:[::1]:4445`), as
/// QEMU's `-qmp` names it, read by Platform's one address parser.
public typealias QMPAddress = QEMUSocketAddress

extension QMPAddress {
    /// Parses `text` to connect to; the error says what form is expected.
    public init(parsing text: String) throws(QMPError) {
        let hostAndPort = "tcp: needs a host and a port, as in tcp:127.0.0.1:4445"
        do throws(QEMUSocketAddress.Failure) {
            self = try QEMUSocketAddress.parse(text)
        } catch {
            switch error {
            case .unknownScheme: throw .badAddress(text, "give unix:PATH or tcp:HOST:PORT")
            case .emptyPath: throw .badAddress(text, "unix: needs a socket path, as in unix:/tmp/qmp.sock")
            case .ipv6: throw .badAddress(text, "an IPv6 host goes in brackets, as in tcp:[::1]:4445")
            case .port, .address: throw .badAddress(text, hostAndPort)
            }
        }
        // A listener's empty host is every address; there is nothing to connect to.
        if case .tcp(let host, _) = self, host.isEmpty { throw .badAddress(text, hostAndPort) }
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
