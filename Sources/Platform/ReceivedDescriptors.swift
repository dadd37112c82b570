/// The descriptors a unix-socket client passed (SCM_RIGHTS) and `getfd` has not taken, kept by QEMU 7.2's rule for
/// its socket chardev, which both its HMP and QMP monitors read through (chardev/char-socket.c): a message that
/// carries descriptors replaces those still waiting, which are closed (tcp_chr_recv); `getfd` takes the first of
/// them and the others are closed (tcp_get_msgfds via qemu_chr_fe_get_msgfd). Belongs to the loop's thread.
public struct ReceivedDescriptors {
    private var waiting: [Int32] = []

    public init() {}

    /// One read of `socket` into `buffer`, keeping what came with it: the byte count, or -1 with errno set, for
    /// `retryingInterrupts`.
    public mutating func receive(from socket: Int32, into buffer: inout [UInt8]) -> Int {
        var arrived: [Int32] = []
        let count = DescriptorPassing.receive(from: socket, into: &buffer) { arrived.append($0) }
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
