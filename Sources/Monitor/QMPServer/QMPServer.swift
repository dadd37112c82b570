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

    let address: QMPAddress
    /// -qmp-pretty: every message indented as QEMU's.
    let pretty: Bool
    private let listener: Int32
    private let dispatcher: CommandDispatcher
    private let events: QMPEvents
    private var acceptor: Acceptor?
    private var sessions: [ObjectIdentifier: QMPSession] = [:]

    init(address: QMPAddress, pretty: Bool = false, dispatcher: CommandDispatcher, events: QMPEvents) throws(SystemError) {
        self.address = address
        self.pretty = pretty
        self.dispatcher = dispatcher
        self.events = events
        let operation = "-qmp \(address)"
        switch address {
        case .unix(let path):
            guard let socketAddress = SocketAddress.unix(path: path) else {
                throw SystemError("\(operation) (the path is too long for a unix socket)", errno: .fileNameTooLong)
            }
            listener = try Descriptor.socket(family: AF_UNIX)
            // Owner-only whatever the umask, as SocketMonitorServer: the mode is set on the socket before bind.
            _ = unlink(path)
            do throws(SystemError) {
                _ = try systemCall(operation) { fchmod(listener, 0o600) }
                try Self.bindAndListen(listener, socketAddress, operation)
            } catch {
                Descriptor.close(listener)
                throw error
            }
        case .tcp(let host, let port):
            let addresses: [SocketAddress]
            do throws(AddressResolutionError) {
                addresses = try AddressResolver.resolve(host: host, port: port, passive: true)
            } catch {
                throw SystemError("\(operation): \(error)", errno: .invalidArgument)
            }
            guard let first = addresses.first else {
                throw SystemError("\(operation): no address", errno: .invalidArgument)
            }
            listener = try Descriptor.socket(family: first.family)
            var on: Int32 = 1
            _ = setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            do throws(SystemError) {
                try Self.bindAndListen(listener, first, operation)
            } catch {
                Descriptor.close(listener)
                throw error
            }
        }
    }

    private static func bindAndListen(_ fd: Int32, _ address: SocketAddress, _ operation: String) throws(SystemError) {
        _ = try systemCall(operation) { address.withSockaddr { bind(fd, $0, $1) } }
        _ = try systemCall(operation) { listen(fd, Int32(QMPServer.clientLimit)) }
    }

    func start() {
        guard acceptor == nil else { return }
        acceptor = Acceptor(listener: listener, loop: dispatcher.hub.loop) { [unowned self] client in admit(client) }
    }

    /// Ends every client, closes the listener; a unix socket's file goes too, as QEMU removes it on a clean exit.
    func remove() {
        acceptor?.stop()
        for session in sessions.values { session.end() }
        Descriptor.close(listener)
        if case .unix(let path) = address { unlink(path) }
    }

    private func admit(_ client: Int32) {
        guard sessions.count < QMPServer.clientLimit else {
            // Told before the close, so that a client (hmp --connect among them) can say why rather than report
            // that QEMU went away. One small write to a fresh socket fits its buffer: it cannot block.
            let line = QValue.dict(["error": ["class": "GenericError", "desc": .string(Self.fullText)]]).json + "\r\n"
            _ = line.utf8CString.withUnsafeBufferPointer {
                Glibc.send(client, $0.baseAddress, $0.count - 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            Descriptor.close(client)
            return
        }
        var key: ObjectIdentifier?
        let isUnix = if case .unix = address { true } else { false }
        let session = QMPSession(
            descriptor: client, acceptsDescriptors: isUnix, pretty: pretty, dispatcher: dispatcher, events: events
        ) { [weak self] in
            if let key { self?.sessions[key] = nil }
        }
        key = ObjectIdentifier(session)
        sessions[key!] = session
        session.start()
    }
}
