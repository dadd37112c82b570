public import SystemPackage
import Glibc

extension Descriptor {
    /// The TCP congestion control algorithm of socket `fd` (TCP_CONGESTION), e.g. `cubic`.
    public static func congestionControl(of fd: Int32) -> String? {
        var name = [CChar](repeating: 0, count: 16)
        var length = socklen_t(name.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, &name, &length) == 0 else { return nil }
        return decodeCString(name)
    }

    /// Sets socket `fd`'s congestion control algorithm. EPERM when an unprivileged process asks for one that is
    /// not in net.ipv4.tcp_allowed_congestion_control, ENOENT when the kernel has no such algorithm.
    public static func setCongestionControl(_ fd: Int32, _ algorithm: String) -> Result<Void, Errno> {
        let result = algorithm.withCString { name in
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, name, socklen_t(strlen(name)))
        }
        return result == 0 ? .success(()) : .failure(Errno(rawValue: errno))
    }
}
