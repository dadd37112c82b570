import Glibc
import SystemPackage
import Platform
import Machine
import Synchronization

/// `-monitor unix:PATH,server=on`: the same HMP over a unix socket, each client on a thread of its own with its
/// own history, so that scripts and tests can drive a machine whose stdin is not theirs. Commands from all of them
/// still run one at a time (the dispatcher's lock); a client that hangs, stops reading or goes away holds up no
/// one else, not even during a synchronous `migrate`.
final class SocketMonitorServer: @unchecked Sendable {
    /// Clients served at once; one more is told so and closed, so that a flood of connections costs a bounded
    /// number of threads.
    static let clientLimit = 8

    // Set in init and read-only afterwards (`clients` is atomic); the accept loop runs on one thread.
    let path: String
    private let listener: Int32
    private let dispatcher: CommandDispatcher
    private let clients = Atomic<Int>(0)

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

    /// Waits for the first client and starts serving it on a thread of its own (`wait=on`), so that start-up
    /// goes on and later clients are served beside it.
    /// A signal or `quit` ends the wait: it looks at the quit flag ten times a second.
    func acceptFirstClient() {
        var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        while !dispatcher.hub.isQuitting {
            guard case .success(1) = retryingInterrupts({ poll(&ready, 1, 100) }) else { continue }
            guard case .success(let client) = Descriptor.accept(listener) else { return }
            admit(client)
            return
        }
    }

    /// Accepts clients on a thread of its own until quit, each served on a new thread.
    func start() {
        if case .failure(let error) = PlatformThread.detach({ [self] in acceptClients() }) {
            FileIO.reportError("monitor socket '\(path)': \(error)")
        }
    }

    func remove() {
        Descriptor.close(listener)
        unlink(path)
    }

    private func acceptClients() {
        Descriptor.acceptEach(listener, while: { !dispatcher.hub.isQuitting }, admit)
    }

    private func admit(_ client: Int32) {
        let limit = SocketMonitorServer.clientLimit
        guard clients.add(1, ordering: .sequentiallyConsistent).newValue <= limit else {
            clients.subtract(1, ordering: .sequentiallyConsistent)
            refuse(client, "Error: too many monitor clients (the limit is \(limit)); try again later")
            return
        }
        let started = PlatformThread.detach { [self] in
            serve(client)
            clients.subtract(1, ordering: .sequentiallyConsistent)
        }
        if case .failure(let error) = started {
            clients.subtract(1, ordering: .sequentiallyConsistent)
            refuse(client, "Error: \(error); try again later")
        }
    }

    /// Tells a client why it is not served, without waiting for it, and closes it.
    private func refuse(_ client: Int32, _ message: String) {
        let output = ClientOutput(descriptor: client)
        output.write(message + "\n")
        output.close()
    }

    /// One client's whole session, on the calling thread.
    private func serve(_ client: Int32) {
        let output = ClientOutput(descriptor: client)
        defer { output.close() }
        let session = MonitorSession(client: output, history: CommandHistory())
        defer { for descriptor in session.receivedDescriptors { Descriptor.close(descriptor) } }
        var monitor = PlainMonitor(input: client, session: session, dispatcher: dispatcher)
        monitor.acceptsDescriptors = true
        monitor.run()
    }
}
