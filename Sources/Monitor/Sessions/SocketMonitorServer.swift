import Glibc
import Platform

/// `-monitor unix:PATH,server=on`: the same HMP over a unix socket, each client a monitor of its own with its own
/// history, so that scripts and tests can drive a machine whose stdin is not theirs. The listener and every client
/// are sources on the event loop; commands run one at a time, and a client that hangs, stops reading or goes away
/// holds up no one else, not even during a synchronous `migrate`.
final class SocketMonitorServer {
    /// Clients served at once; one more is told so and closed.
    static let clientLimit = 8

    let path: String
    private let dispatcher: CommandDispatcher
    private var loop: EventLoop { dispatcher.hub.loop }
    private var server: BoundedServer<PlainMonitor>!

    init(path: String, dispatcher: CommandDispatcher) throws(SystemError) {
        self.path = path
        self.dispatcher = dispatcher
        let operation = "monitor socket '\(path)'"
        let listener: Int32
        do throws(Listener.Failure) {
            listener = try Listener.unix(path: path, backlog: Int32(Self.clientLimit), ownerOnly: true)
        } catch {
            if error.step == .pathTooLong {
                let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
                throw SystemError("\(operation) (the path is longer than \(capacity) bytes)", errno: error.errno)
            }
            throw SystemError(operation, errno: error.errno)
        }
        let loop = dispatcher.hub.loop
        server = BoundedServer(
            listener: listener, unixPath: path, limit: Self.clientLimit, loop: loop,
            refuse: { client in
                let output = ClientOutput(descriptor: client, loop: loop)
                output.write("Error: too many monitor clients (the limit is \(Self.clientLimit)); try again later\n")
                output.close()
            },
            admit: { [unowned self] client, left in monitor(for: client, left: left) })
    }

    /// `wait=on`: start-up waits, on the loop, until the first client is here (or hmp is asked to quit).
    func acceptFirstClient() {
        start()
        loop.run { server.clientCount > 0 || dispatcher.hub.isQuitting }
    }

    /// Serves clients from now on.
    func start() { server.start() }

    /// Ends every client and removes the socket.
    func remove() { server.remove() }

    private func monitor(for client: Int32, left: @escaping () -> Void) -> PlainMonitor {
        let output = ClientOutput(descriptor: client, loop: loop)
        let session = MonitorSession(client: output, history: CommandHistory())
        return PlainMonitor(input: client, session: session, dispatcher: dispatcher, acceptsDescriptors: true) {
            left()
            output.flush(forUpTo: 100)
            output.close()
            session.receivedDescriptors.closeAll()
        }
    }
}

extension PlainMonitor: BoundedServerClient {}
