import Glibc
import Platform
import QMP
import QObject

/// `-qmp unix:PATH,server=on,wait=off` or `-qmp tcp:HOST:PORT,server=on,wait=off`: QEMU 7.2's QMP over the same
/// machine and the same command lock as the HMP monitors. The listener and each client (at most 8) are sources
/// on the event loop, so several are served at once (QEMU serves one per socket) and a client that stops reading
/// or sends garbage costs nobody else.
final class QMPServer {
    static let clientLimit = 8
    static let fullText =
        "Too many QMP clients: this socket serves \(clientLimit) at once; try again when one disconnects"

    private let server: BoundedServer<QMPSession>

    /// `pretty`: -qmp-pretty, every message indented as QEMU's.
    init(address: QMPAddress, pretty: Bool = false, dispatcher: CommandDispatcher, events: QMPEvents) throws(SystemError) {
        let operation = "-qmp \(address)"
        var addresses: [SocketAddress] = []
        if case .tcp(let host, let port) = address {
            do throws(AddressResolutionError) {
                addresses = try AddressResolver.resolve(host: host, port: port, passive: true)
            } catch {
                throw SystemError("\(operation): \(error)", errno: .invalidArgument)
            }
            guard !addresses.isEmpty else { throw SystemError("\(operation): no address", errno: .invalidArgument) }
        }
        let listener: Int32
        var unixPath: String?
        do throws(Listener.Failure) {
            switch address {
            case .unix(let path):
                // Owner-only whatever the umask, as the monitor socket.
                listener = try Listener.unix(path: path, backlog: Int32(Self.clientLimit), ownerOnly: true)
                unixPath = path
            case .tcp:
                listener = try Listener.tcp(addresses, backlog: Int32(Self.clientLimit))
            }
        } catch {
            let tooLong = error.step == .pathTooLong ? " (the path is too long for a unix socket)" : ""
            throw SystemError(operation + tooLong, errno: error.errno)
        }
        let isUnix = unixPath != nil  // for getfd: only a unix socket carries descriptors
        server = BoundedServer(
            listener: listener, unixPath: unixPath, limit: Self.clientLimit, loop: dispatcher.hub.loop,
            refuse: Self.refuse
        ) { client, left in
            QMPSession(
                descriptor: client, acceptsDescriptors: isUnix, pretty: pretty, dispatcher: dispatcher, events: events,
                closed: left)
        }
    }

    func start() { server.start() }

    /// Ends every client, closes the listener; a unix socket's file goes too, as QEMU removes it on a clean exit.
    func remove() { server.remove() }

    /// Told before the close, so that a client (hmp --connect among them) can say why rather than report that QEMU
    /// went away. One small write to a fresh socket fits its buffer: it cannot block.
    private static func refuse(_ client: Int32) {
        let line = QValue.dict(["error": ["class": "GenericError", "desc": .string(fullText)]]).json + "\r\n"
        _ = line.utf8CString.withUnsafeBufferPointer {
            Glibc.send(client, $0.baseAddress, $0.count - 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
        Descriptor.close(client)
    }
}

extension QMPSession: BoundedServerClient {
    func stop() { end() }
}
