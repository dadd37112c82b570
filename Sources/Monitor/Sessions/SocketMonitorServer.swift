import Glibc
import SystemPackage
import Platform
import Machine

/// `-monitor unix:PATH,server=on`: the same HMP over a unix socket, each client a monitor of its own with its own
/// history, so that scripts and tests can drive a machine whose stdin is not theirs. The listener and every client
/// are sources on the event loop; commands run one at a time, and a client that hangs, stops reading or goes away
/// holds up no one else, not even during a synchronous `migrate`.
final class SocketMonitorServer {
    /// Clients served at once; one more is told so and closed, so that a flood of connections costs a bounded
    /// amount of memory.
    static let clientLimit = 8

    let path: String
    private let listener: Int32
    private let dispatcher: CommandDispatcher
    private var loop: EventLoop { dispatcher.hub.loop }
    private var acceptor: Acceptor?
    private var clients: [ObjectIdentifier: PlainMonitor] = [:]

    init(path: String, dispatcher: CommandDispatcher) throws(SystemError) {
        self.path = path
        self.dispatcher = dispatcher
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw SystemError("monitor socket '\(path)' (the path is longer than \(capacity - 1) bytes)", errno: .fileNameTooLong)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        listener = try Descriptor.socket(family: AF_UNIX)
        // Owner-only whatever the umask, with no window in which anyone else could connect: Linux creates the
        // socket file with the socket inode's mode masked by the umask, so an fchmod before bind sets it
        // (0600 & ~umask). Changing the umask instead would race with the other threads that create files.
        _ = unlink(path)
        do throws(SystemError) {
            let operation = "monitor socket '\(path)'"
            _ = try systemCall(operation) { fchmod(listener, 0o600) }
            _ = try systemCall(operation) {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
            _ = try systemCall(operation) { listen(listener, Int32(SocketMonitorServer.clientLimit)) }
        } catch {
            Descriptor.close(listener)
            throw error
        }
    }

    /// `wait=on`: start-up waits, on the loop, until the first client is here (or hmp is asked to quit).
    func acceptFirstClient() {
        start()
        loop.run { !clients.isEmpty || dispatcher.hub.isQuitting }
    }

    /// Serves clients from now on.
    func start() {
        guard acceptor == nil else { return }
        acceptor = Acceptor(listener: listener, loop: loop) { [unowned self] client in admit(client) }
    }

    /// Ends every client and removes the socket.
    func remove() {
        acceptor?.stop()
        for client in clients.values { client.stop() }
        Descriptor.close(listener)
        unlink(path)
    }

    private func admit(_ client: Int32) {
        let limit = SocketMonitorServer.clientLimit
        let output = ClientOutput(descriptor: client, loop: loop)
        guard clients.count < limit else {
            output.write("Error: too many monitor clients (the limit is \(limit)); try again later\n")
            output.close()
            return
        }
        let session = MonitorSession(client: output, history: CommandHistory())
        let key = ObjectIdentifier(session)
        let monitor = PlainMonitor(input: client, session: session, dispatcher: dispatcher, acceptsDescriptors: true) {
            [weak self] in
            self?.clients[key] = nil
            output.flush(forUpTo: 100)
            output.close()
            for descriptor in session.receivedDescriptors { Descriptor.close(descriptor) }
        }
        clients[key] = monitor
        monitor.start()
    }
}
