import Glibc
import Platform
import Synchronization

/// `-qmp unix:PATH,server=on,wait=off` or `-qmp tcp:HOST:PORT,server=on,wait=off`: QEMU 7.2's QMP over the same
/// machine and the same command lock as the HMP monitors. An accept loop on a thread of its own; each client
/// (at most 8) on another, so that several are served at once (QEMU serves one per socket) and a client that
/// stops reading or sends garbage costs nobody else.
final class QMPServer: @unchecked Sendable {
    static let clientLimit = 8

    // Set in init and read-only afterwards (`clients` is atomic).
    let address: QMPListenAddress
    private let listener: Int32
    private let dispatcher: CommandDispatcher
    private let events: QMPEvents
    private let clients = Atomic<Int>(0)

    init(address: QMPListenAddress, dispatcher: CommandDispatcher, events: QMPEvents) throws(SystemError) {
        self.address = address
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
        if case .failure(let error) = PlatformThread.detach({ [self] in acceptClients() }) {
            FileIO.reportError("-qmp \(address): \(error)")
        }
    }

    /// Closes the listener; a unix socket's file goes too, as QEMU removes it on a clean exit.
    func remove() {
        Descriptor.close(listener)
        if case .unix(let path) = address { unlink(path) }
    }

    private func acceptClients() {
        Descriptor.acceptEach(listener, while: { !dispatcher.hub.isQuitting }, admit)
    }

    private func admit(_ client: Int32) {
        guard clients.add(1, ordering: .sequentiallyConsistent).newValue <= QMPServer.clientLimit else {
            clients.subtract(1, ordering: .sequentiallyConsistent)
            Descriptor.close(client)
            return
        }
        let session = QMPSession(descriptor: client, dispatcher: dispatcher, events: events)
        let started = PlatformThread.detach { [self] in
            session.run()
            clients.subtract(1, ordering: .sequentiallyConsistent)
        }
        if case .failure = started {
            clients.subtract(1, ordering: .sequentiallyConsistent)
            session.output.close()
        }
    }
}
