import Glibc
import Platform

/// `-monitor unix:PATH,server=on`: the same HMP over a unix socket, each client a monitor of its own with its own
/// history, so that scripts and tests can drive a machine whose stdin is not theirs. The listener and every client
/// are sources on the event loop; commands run one at a time, and a client that hangs, stops reading or goes away
/// holds up no one else, not even during a synchronous `migrate`.
final class SocketMonitorServer {
    /// Clients served at once; one more is told so and closed.
    static let clientLimit = 8

    private let dispatcher: CommandDispatcher
    private let server: BoundedServer<PlainMonitor>

    init(path: String, dispatcher: CommandDispatcher) throws(SystemError) {
        self.dispatcher = dispatcher
        let listener: Int32
        do throws(Listener.Failure) {
            listener = try Listener.unix(path: path, backlog: Int32(Self.clientLimit), ownerOnly: true)
        } catch {
            let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
            let tooLong = error.step == .pathTooLong ? " (the path is longer than \(capacity) bytes)" : ""
            throw SystemError("monitor socket '\(path)'" + tooLong, errno: error.errno)
        }
        let loop = dispatcher.hub.loop
        server = BoundedServer(
            listener: listener, unixPath: path, limit: Self.clientLimit, loop: loop,
            refuse: { client in
                let output = ClientOutput(descriptor: client, loop: loop)
                output.write("Error: too many monitor clients (the limit is \(Self.clientLimit)); try again later\n")
                output.close()
            }
        ) { client, left in
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

    /// `wait=on`: start-up waits, on the loop, until the first client is here (or hmp is asked to quit).
    func acceptFirstClient() {
        start()
        dispatcher.hub.loop.run { server.clientCount > 0 || dispatcher.hub.isQuitting }
    }

    /// Serves clients from now on.
    func start() { server.start() }

    /// Ends every client and removes the socket.
    func remove() { server.remove() }
}

extension PlainMonitor: BoundedServerClient {}
