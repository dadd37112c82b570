import Glibc
public import SystemPackage

/// The descriptors a unix-socket client passed (SCM_RIGHTS) and `getfd` has not taken, kept by QEMU 7.2's rule for
/// its socket chardev, which both its HMP and QMP monitors read through (chardev/char-socket.c): a message that
/// carries descriptors replaces those still waiting, which are closed (tcp_chr_recv); `getfd` takes the first of
/// them and the others are closed (tcp_get_msgfds via qemu_chr_fe_get_msgfd). Belongs to the loop's thread.
public struct ReceivedDescriptors {
    private var waiting: [Int32] = []

    public init() {}

    /// One read of a client's bytes into `buffer`, for a pipe's or socket's monitor and QMP alike: from a unix
    /// socket that `passes` descriptors, with those that came along kept; 0 at the end of input.
    public mutating func read(_ fd: Int32, into buffer: inout [UInt8], passes: Bool) -> Result<Int, Errno> {
        guard passes else {
            return retryingInterrupts { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
        }
        var arrived: [Int32] = []
        let count = retryingInterrupts { DescriptorPassing.receive(from: fd, into: &buffer) { arrived.append($0) } }
        if !arrived.isEmpty {
            closeAll()
            waiting = arrived
        }
        return count
    }

    /// The descriptor `getfd` names, which the caller then owns; nil when none waits.
    public mutating func take() -> Int32? {
        guard let first = waiting.first else { return nil }
        for other in waiting.dropFirst() { Descriptor.close(other) }
        waiting = []
        return first
    }

    /// Closes every descriptor still waiting (the client has gone).
    public mutating func closeAll() {
        for descriptor in waiting { Descriptor.close(descriptor) }
        waiting = []
    }
}
