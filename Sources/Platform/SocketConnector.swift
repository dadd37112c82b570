import Glibc
public import SystemPackage

/// QEMU's inet_connect_saddr and wait_for_connect: a non-blocking connect to each address in turn, the first that
/// succeeds wins, and when all fail the last address's error is what went wrong.
public enum SocketConnector {
    /// How often a pending connect looks at isCancelled.
    static let pollMilliseconds: Int32 = 50

    public enum Outcome: Sendable {
        /// A connected, blocking, close-on-exec socket.
        case connected(Int32)
        case failed(Errno)
        case cancelled
    }

    /// Connects to the first of `addresses` that accepts, looking at `isCancelled` every 50 ms while one is
    /// pending. No address at all fails with ENOENT.
    public static func connect(to addresses: [SocketAddress], isCancelled: () -> Bool) -> Outcome {
        var last = Outcome.failed(.noSuchFileOrDirectory)
        for address in addresses {
            if isCancelled() { return .cancelled }
            last = connectOne(address, isCancelled: isCancelled)
            if case .failed = last { continue }
            return last
        }
        return last
    }

    private static func connectOne(_ address: SocketAddress, isCancelled: () -> Bool) -> Outcome {
        let fd: Int32
        do throws(SystemError) { fd = try Descriptor.socket(family: address.family) } catch { return .failed(error.errno) }
        Descriptor.setNonBlocking(fd, true)
        let started = retryingInterrupts { address.withSockaddr { Glibc.connect(fd, $0, $1) } }
        if case .failure(let error) = started, error != .nowInProgress {
            Descriptor.close(fd)
            return .failed(error)
        }
        if case .failure = started {
            // In progress: poll in short slices so that migrate_cancel is seen, then read the outcome from SO_ERROR.
            var ready: Int32 = 0
            while ready == 0 {
                if isCancelled() {
                    Descriptor.close(fd)
                    return .cancelled
                }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                switch retryingInterrupts({ poll(&entry, 1, pollMilliseconds) }) {
                case .success(let count): ready = count
                case .failure(let error):
                    Descriptor.close(fd)
                    return .failed(error)
                }
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) < 0 { code = errno }
            if code != 0 {
                Descriptor.close(fd)
                return .failed(Errno(rawValue: code))
            }
        }
        // Callers do blocking I/O, as QEMU's tcp_wait_for_connect sets the socket back to blocking.
        Descriptor.setNonBlocking(fd, false)
        return .connected(fd)
    }
}
