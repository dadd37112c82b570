internal import Glibc
import Platform

/// QEMU's inet_connect_saddr and wait_for_connect: a non-blocking connect to each address in turn, the first that
/// succeeds wins, and when all fail the last address's error is reported as `Failed to connect to 'DISPLAY': …`.
enum SocketConnector {
    /// How often a pending connect looks at isCancelled.
    static let pollMilliseconds: Int32 = 50

    /// A connected, blocking, close-on-exec socket to the first of `addresses` that accepts.
    static func connect(
        to addresses: [SocketAddress], display: String, isCancelled: @Sendable () -> Bool
    ) throws(MigrationError) -> Int32 {
        var lastError = systemError("Failed to connect to '\(display)'", ENOENT)
        for address in addresses {
            if isCancelled() { throw cancelledError }
            switch connectOne(address, isCancelled: isCancelled) {
            case .connected(let fd): return fd
            case .failed(let code): lastError = systemError("Failed to connect to '\(display)'", code)
            case .cancelled: throw cancelledError
            }
        }
        throw lastError
    }

    /// What a cancelled connect throws; the engine reports cancellation by its own state, not by this text.
    static let cancelledError = MigrationError("Migration was cancelled")

    private enum Outcome { case connected(Int32), failed(Int32), cancelled }

    private static func connectOne(_ address: SocketAddress, isCancelled: @Sendable () -> Bool) -> Outcome {
        let fd: Int32
        do throws(SystemError) { fd = try Descriptor.socket(family: address.family) } catch { return .failed(error.errno.rawValue) }
        Descriptor.setNonBlocking(fd, true)
        let started = retryingInterrupts { address.withSockaddr { Glibc.connect(fd, $0, $1) } }
        if case .failure(let error) = started, error != .nowInProgress {
            Descriptor.close(fd)
            return .failed(error.rawValue)
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
                    return .failed(error.rawValue)
                }
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) < 0 { code = errno }
            if code != 0 {
                Descriptor.close(fd)
                return .failed(code)
            }
        }
        // The migration thread does blocking I/O, as QEMU's tcp_wait_for_connect sets the socket back to blocking.
        Descriptor.setNonBlocking(fd, false)
        return .connected(fd)
    }
}
