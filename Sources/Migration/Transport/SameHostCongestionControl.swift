import Platform

/// The congestion control of a migration socket whose destination is on this machine. A loopback link loses
/// nothing and queues nothing, so there is no congestion to control, but an algorithm still runs on every ACK, and
/// BBR (a common system default) also paces each segment with a timer: on a 2-core VM that cost a 256 MiB + 256 MiB
/// `-b` migration 264 ms against 164 ms with cubic (median of 10, taking turns), and a plain loopback blast 3.3
/// against 4.9 GiB/s. So such a socket gets the first of `preferred` the kernel lets this process have; a socket
/// to another machine keeps the system's choice, made for the real network in between.
enum SameHostCongestionControl {
    static let preferred = ["cubic", "reno"]

    /// Applies the choice to connected TCP socket `fd`; anything that fails leaves the socket as it was.
    static func apply(to fd: Int32) {
        guard let local = SocketAddress.local(of: fd), let peer = SocketAddress.peer(of: fd),
            peer.isOnSameHost(as: local)
        else { return }
        let current = Descriptor.congestionControl(of: fd)
        for algorithm in preferred {
            if current == algorithm { return }
            if case .success = Descriptor.setCongestionControl(fd, algorithm) { return }
        }
    }
}
