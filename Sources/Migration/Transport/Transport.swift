internal import Glibc
import Platform

/// Opens migration streams: connect() for the source (`migrate`), listen() for the destination (`-incoming`).
public enum Transport {
    /// Connects to the destination. tcp tries every address getaddrinfo gives with a non-blocking connect that
    /// checks `isCancelled` every 50 ms; unix connects to the path; exec spawns `/bin/sh -c CMD` reading the stream on
    /// its stdin; fd takes the descriptor the monitor holds under that name (`fds`), which the channel then owns.
    public static func connect(
        _ uri: MigrationURI, fds: (String) -> Int32?, isCancelled: @escaping @Sendable () -> Bool
    ) throws(MigrationError) -> MigrationChannel {
        Signals.ignoreBrokenPipes()
        switch uri {
        case .tcp(let host, let port):
            let addresses = try resolveAddresses(host: host, port: port, passive: false)
            let fd = try connectSocket(to: addresses, display: "\(host):\(port)", isCancelled: isCancelled)
            SameHostCongestionControl.apply(to: fd)
            return MigrationChannel(fd: fd, kind: .socket, peerDescription: SocketAddress.peer(of: fd).flatMap(tcpText))
        case .unix(let path):
            guard let address = SocketAddress.unix(path: path) else {
                throw MigrationError("UNIX socket path '\(path)' is too long")
            }
            let fd = try connectSocket(to: [address], display: path, isCancelled: isCancelled)
            return MigrationChannel(fd: fd, kind: .socket, peerDescription: "unix:\(path)")
        case .exec(let command):
            return try spawn(command, direction: .childReadsStdin)
        case .fd(let name):
            // Outgoing, QEMU looks the name up among getfd's descriptors only: `fd:9` is a name too.
            guard let fd = fds(name) else { throw MigrationError("File descriptor named '\(name)' has not been found") }
            return MigrationChannel(fd: fd, kind: .descriptor, peerDescription: nil)
        case .deferred:
            throw MigrationError("Parameter 'uri' expects a valid migration protocol")
        }
    }

    /// Starts the incoming side: binds and listens (tcp, unix), spawns the command (exec) or takes the descriptor
    /// (fd: a getfd name, or a number as QEMU's monitor_fd_param allows incoming). Errors read as QEMU's.
    public static func listen(
        _ uri: MigrationURI, fds: (String) -> Int32? = { _ in nil }
    ) throws(MigrationError) -> MigrationListener {
        Signals.ignoreBrokenPipes()
        switch uri {
        case .tcp(let host, let port):
            return try MigrationListener(tcpHost: host, port: port)
        case .unix(let path):
            return try MigrationListener(unixPath: path)
        case .exec(let command):
            return MigrationListener(ready: try spawn(command, direction: .childWritesStdout))
        case .fd(let name):
            return MigrationListener(
                ready: MigrationChannel(fd: try incomingDescriptor(name, fds: fds), kind: .descriptor,
                                        peerDescription: nil))
        case .deferred:
            throw MigrationError("unknown migration protocol: defer")
        }
    }

    /// QEMU's monitor_fd_param: a name unless it starts with a digit, then a whole decimal number.
    private static func incomingDescriptor(_ name: String, fds: (String) -> Int32?) throws(MigrationError) -> Int32 {
        guard let first = name.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            guard let fd = fds(name) else { throw MigrationError("File descriptor named '\(name)' has not been found") }
            return fd
        }
        guard let number = Int32(name) else { throw MigrationError("Invalid file descriptor number '\(name)'") }
        return number
    }

    /// A pipe with the command on the other end.
    private static func spawn(_ command: String, direction: ChildProcess.Direction) throws(MigrationError)
        -> MigrationChannel
    {
        // pipe2(O_CLOEXEC): a command another thread spawns meanwhile never inherits either end.
        let ends: (read: Int32, write: Int32)
        do throws(SystemError) { ends = try Descriptor.pipe() } catch { throw systemError("Failed to create pipe", error) }
        let (ours, theirs) = direction == .childReadsStdin ? (ends.write, ends.read) : (ends.read, ends.write)
        defer { Descriptor.close(theirs) }
        do {
            let child = try ChildProcess(command: command, streamFD: theirs, direction: direction)
            return MigrationChannel(fd: ours, kind: .pipe(child), peerDescription: nil)
        } catch {
            Descriptor.close(ours)
            throw error
        }
    }
}

/// getaddrinfo, its failure in QEMU's words as a migration error.
func resolveAddresses(host: String, port: String, passive: Bool) throws(MigrationError) -> [SocketAddress] {
    do throws(AddressResolutionError) {
        return try AddressResolver.resolve(host: host, port: port, passive: passive)
    } catch {
        throw MigrationError(error.description)
    }
}

/// What a cancelled connect or accept throws; the engine reports cancellation by its own state, not by this text.
let connectCancelledError = MigrationError("Migration was cancelled")

/// Connects to the first of `addresses` that accepts, failing as QEMU does: `Failed to connect to 'DISPLAY': …`
/// with the last address's error.
func connectSocket(
    to addresses: [SocketAddress], display: String, isCancelled: @Sendable () -> Bool
) throws(MigrationError) -> Int32 {
    switch SocketConnector.connect(to: addresses, isCancelled: isCancelled) {
    case .connected(let fd): return fd
    case .failed(let errno): throw systemError("Failed to connect to '\(display)'", errno.rawValue)
    case .cancelled: throw connectCancelledError
    }
}

/// `tcp:HOST:PORT` as QEMU's SocketAddress_to_str prints an inet address (numeric, IPv6 without brackets).
func tcpText(_ address: SocketAddress) -> String? {
    address.numericHostAndPort.map { "tcp:\($0.host):\($0.port)" }
}
