import Glibc

/// A self-pipe: other threads and signal handlers write a byte to wake the thread waiting in `poll`.
public final class Wakeup: Sendable {
    public let readDescriptor: Int32
    public let writeDescriptor: Int32

    public init() {
        do throws(SystemError) {
            (readDescriptor, writeDescriptor) = try Descriptor.pipe(nonBlocking: true)
        } catch {
            // Only descriptor exhaustion gets here, before hmp has started anything worth keeping.
            fatalError("cannot create the monitor's wake-up pipe: \(error)")
        }
    }

    /// Async-signal-safe: one write, whose failure (a full pipe) means a wake-up is already pending.
    public func wake() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    public func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(readDescriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Blocks until woken (or `timeout` milliseconds pass, when not negative).
    public func wait(timeout: Int32 = -1) {
        var fd = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, timeout)
        drain()
    }
}
