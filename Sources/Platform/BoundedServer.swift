import Glibc

/// A client a `BoundedServer` serves: started once admitted, stopped when the server is removed.
public protocol BoundedServerClient: AnyObject {
    func start()
    func stop()
}

/// A listening socket on the event loop and the clients it serves, at most `limit` at once: the skeleton the HMP
/// monitor socket and the QMP server share. One more client is handed to `refuse` (which tells it why and closes
/// it), so that a flood of connections costs a bounded amount of memory. Belongs to the loop's thread.
public final class BoundedServer<Client: BoundedServerClient> {
    private let limit: Int
    private let listener: Int32
    /// The socket file to remove with the server, for a unix listener.
    private let unixPath: String?
    private let loop: EventLoop
    private var acceptor: Acceptor?
    private var clients: [ObjectIdentifier: Client] = [:]
    private let refuse: (Int32) -> Void
    private let admit: (Int32, _ left: @escaping () -> Void) -> Client

    /// `admit` makes the client for a new connection, which the server then starts; the client calls `left` once,
    /// on the loop, when it has ended.
    public init(
        listener: Int32, unixPath: String?, limit: Int, loop: EventLoop, refuse: @escaping (Int32) -> Void,
        admit: @escaping (Int32, _ left: @escaping () -> Void) -> Client
    ) {
        self.listener = listener
        self.unixPath = unixPath
        self.limit = limit
        self.loop = loop
        self.refuse = refuse
        self.admit = admit
    }

    public var clientCount: Int { clients.count }

    /// Serves clients from now on.
    public func start() {
        guard acceptor == nil else { return }
        acceptor = Acceptor(listener: listener, loop: loop) { [unowned self] client in accept(client) }
    }

    /// Ends every client and closes the listener; a unix socket's file goes too, as QEMU removes it on a clean exit.
    public func remove() {
        acceptor?.stop()
        for client in clients.values { client.stop() }
        Descriptor.close(listener)
        if let unixPath { _ = unlink(unixPath) }
    }

    private func accept(_ descriptor: Int32) {
        guard clients.count < limit else { return refuse(descriptor) }
        var key: ObjectIdentifier?
        let client = admit(descriptor) { [weak self] in if let key { self?.clients[key] = nil } }
        key = ObjectIdentifier(client)
        clients[ObjectIdentifier(client)] = client
        client.start()
    }
}
