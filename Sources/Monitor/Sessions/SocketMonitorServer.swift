import Glibc
import SystemPackage
import Platform
import Machine

/// `-monitor unix:PATH,server=on`: the same HMP over a unix socket, one client at a time, each with its own
/// history, so that scripts and tests can drive a machine whose stdin is not theirs.
final class SocketMonitorServer: @unchecked Sendable {
    // Set in init and read-only afterwards; the accept loop runs on one thread.
    let path: String
    private let listener: Int32
    private let dispatcher: CommandDispatcher

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
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw SystemError("socket") }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 1) == 0 else {
            let error = SystemError("monitor socket '\(path)'")
            close(listener)
            throw error
        }
    }

    /// Serves one client on the calling thread, then returns (used for `wait=on`).
    func serveOne() {
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { close(client) }
        let session = MonitorSession(output: client, history: CommandHistory(), isTerminal: false)
        var monitor = PlainMonitor(input: client, session: session, dispatcher: dispatcher)
        monitor.acceptsDescriptors = true
        monitor.run()
        for descriptor in session.receivedDescriptors { close(descriptor) }
    }

    /// Serves clients one after another on a thread of its own, until quit.
    func start() {
        if case .failure(let error) = PlatformThread.detach({ [self] in
            while !dispatcher.backend.isQuitting { serveOne() }
        }) {
            FileIO.reportError("monitor socket '\(path)': \(error)")
        }
    }

    func remove() {
        close(listener)
        unlink(path)
    }
}
