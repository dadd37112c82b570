internal import Glibc
import Platform
import Synchronization

/// The incoming side before the stream starts: a listening tcp or unix socket, or, for exec: and fd:, a channel
/// that is ready at once.
///
/// Sendable: immutable apart from `state`, a Mutex that also keeps close() from releasing the listening descriptor
/// while accept() in another thread still polls it (the last of the two closes it).
public final class MigrationListener: Sendable {
    private struct State {
        var fd: Int32 = -1
        var ready: MigrationChannel?
        var closed = false
        var accepting = false
    }

    private let state: Mutex<State>
    /// The unix path we bound, unlinked on close.
    private let unixPath: String?

    /// The bound tcp port (for `tcp:0:0` the kernel's choice); nil for other transports.
    public let port: Int?
    /// What `info migrate` lists under `socket address:`, e.g. `tcp:::4444` or `unix:/tmp/sock`; empty for exec: and
    /// fd:.
    public let socketAddresses: [String]

    /// How often accept() looks at isCancelled and at close().
    static let pollMilliseconds: Int32 = 50

    /// tcp: binds the first address of HOST that is free, as QEMU's inet_listen_saddr. An empty host or `0` binds
    /// `::` with IPV6_V6ONLY off, reachable over 127.0.0.1 and ::1 alike, falling back to 0.0.0.0 without IPv6.
    init(tcpHost host: String, port: String) throws(MigrationError) {
        let candidates: [SocketAddress]
        if host.isEmpty || host == "0" {
            let v6 = try? resolveAddresses(host: "::", port: port, passive: true)
            let v4 = try resolveAddresses(host: "0.0.0.0", port: port, passive: true)
            candidates = (v6 ?? []) + v4
        } else {
            candidates = try resolveAddresses(host: host, port: port, passive: true)
        }
        let fd: Int32
        do throws(Listener.Failure) {
            fd = try Listener.tcp(candidates, backlog: 1)
        } catch {
            throw Self.listenError(error, unixPath: nil)
        }
        let local = SocketAddress.local(of: fd)
        self.port = local?.numericHostAndPort.flatMap { Int($0.port) }
        self.socketAddresses = local.flatMap(tcpText).map { [$0] } ?? []
        self.unixPath = nil
        self.state = Mutex(State(fd: fd))
    }

    /// unix: unlinks a stale socket at PATH, binds and listens, as QEMU's unix_listen_saddr.
    init(unixPath path: String) throws(MigrationError) {
        let fd: Int32
        do throws(Listener.Failure) {
            fd = try Listener.unix(path: path, backlog: 1)
        } catch {
            throw Self.listenError(error, unixPath: path)
        }
        self.port = nil
        self.socketAddresses = ["unix:\(path)"]
        self.unixPath = path
        self.state = Mutex(State(fd: fd))
    }

    /// QEMU's words for each step of setting up the listener.
    private static func listenError(_ failure: Listener.Failure, unixPath path: String?) -> MigrationError {
        if failure.step == .pathTooLong { return MigrationError("UNIX socket path '\(path ?? "")' is too long") }
        let prefix = switch failure.step {
        case .pathTooLong, .socket: path == nil ? "Failed to create socket" : "Failed to create Unix socket"
        case .unlink: "Failed to unlink socket \(path ?? "")"
        case .bind: path.map { "Failed to bind socket to \($0)" } ?? "Failed to bind socket"
        case .listen: "Failed to listen on socket"
        case .noFreeAddress: "Failed to find an available port"
        }
        return systemError(prefix, failure.errno.rawValue)
    }

    /// exec: and fd:: the stream is already there.
    init(ready channel: MigrationChannel) {
        self.port = nil
        self.socketAddresses = []
        self.unixPath = nil
        self.state = Mutex(State(ready: channel))
    }

    deinit {
        close()
    }

    /// The one incoming stream. Sockets wait for a connection, checking `isCancelled` and close() every 50 ms;
    /// exec: and fd: hand over their channel at once. Call it once; close the listener afterwards.
    public func accept(isCancelled: @escaping @Sendable () -> Bool) throws(MigrationError) -> MigrationChannel {
        enum Start { case ready(MigrationChannel), socket(Int32) }
        let start = try state.withLock { state throws(MigrationError) -> Start in
            if let ready = state.ready {
                state.ready = nil
                return .ready(ready)
            }
            guard !state.closed, state.fd >= 0, !state.accepting else { throw MigrationListener.closedError }
            state.accepting = true
            return .socket(state.fd)
        }
        guard case .socket(let fd) = start else {
            if case .ready(let channel) = start { return channel }
            throw MigrationListener.closedError
        }
        defer {
            state.withLock { state in
                state.accepting = false
                if state.closed && state.fd >= 0 {
                    Descriptor.close(state.fd)
                    state.fd = -1
                }
            }
        }
        // Non-blocking, so that a connection reset between poll and accept cannot block us.
        Descriptor.setNonBlocking(fd, true)
        while true {
            if isCancelled() { throw connectCancelledError }
            if state.withLock({ $0.closed }) { throw MigrationListener.closedError }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready: Int32
            switch retryingInterrupts({ poll(&entry, 1, MigrationListener.pollMilliseconds) }) {
            case .success(let count): ready = count
            case .failure(let error): throw systemError("Failed to wait for a connection", error.rawValue)
            }
            guard ready > 0 else { continue }
            switch Descriptor.accept(fd) {
            case .success(let connection):
                // accept4 with SOCK_CLOEXEC. The accepted socket does not inherit O_NONBLOCK on Linux, so it is the
                // blocking socket the migration thread wants.
                let peer = unixPath.map { "unix:\($0)" } ?? SocketAddress.peer(of: connection).flatMap(tcpText)
                return MigrationChannel(fd: connection, kind: .socket, peerDescription: peer)
            case .failure(let error):
                if error == .resourceTemporarilyUnavailable || error == .wouldBlock || error == .connectionAbort { continue }
                if state.withLock({ $0.closed }) { throw MigrationListener.closedError }
                throw systemError("Failed to accept connection", error.rawValue)
            }
        }
    }

    /// What accept() throws once the listener is closed.
    static let closedError = MigrationError("Migration listener closed")

    /// Stops listening; a unix socket's path is unlinked. A pending accept() in another thread returns within 50 ms
    /// with an error. An exec: command not yet handed out is killed. Idempotent.
    public func close() {
        let ready: MigrationChannel? = state.withLock { state in
            guard !state.closed else { return nil }
            state.closed = true
            if state.fd >= 0 {
                // shutdown wakes a blocked poll or accept at once; the descriptor itself is released by whoever is
                // last, so an accept() still polling it never sees it reused.
                _ = Glibc.shutdown(state.fd, Int32(SHUT_RDWR))
                if !state.accepting {
                    Descriptor.close(state.fd)
                    state.fd = -1
                }
            }
            defer { state.ready = nil }
            return state.ready
        }
        if let unixPath { unlink(unixPath) }
        ready?.shutdown()
        ready?.close()
    }
}
