import Glibc

/// A self-pipe: other threads and signal handlers write a byte to wake the thread waiting in `poll`.
final class Wakeup: @unchecked Sendable {
    // The descriptors are set once in init and never change, so sharing them across threads is safe.
    let readDescriptor: Int32
    let writeDescriptor: Int32

    init() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            fatalError("cannot create the monitor's wake-up pipe: \(SystemError("pipe"))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    /// Async-signal-safe: one write, whose failure (a full pipe) means a wake-up is already pending.
    func wake() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while buffer.withUnsafeMutableBytes({ read(readDescriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Blocks until woken (or `timeout` milliseconds pass, when not negative).
    func wait(timeout: Int32 = -1) {
        var fd = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, timeout)
        drain()
    }
}
