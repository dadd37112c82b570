import Glibc

extension SocketAddress {
    /// The IP address alone, 4 bytes for IPv4 (an IPv4-mapped IPv6 address included) or 16 for IPv6; nil for any
    /// other family.
    public var ipBytes: [UInt8]? {
        withUnsafeBytes(of: storage) { raw -> [UInt8]? in
            switch family {
            case AF_INET:
                let offset = MemoryLayout<sockaddr_in>.offset(of: \sockaddr_in.sin_addr)!
                return Array(raw[offset..<offset + 4])
            case AF_INET6:
                let offset = MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_addr)!
                let bytes = Array(raw[offset..<offset + 16])
                let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
                return bytes.starts(with: mapped) ? Array(bytes[12...]) : bytes
            default:
                return nil
            }
        }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        guard let bytes = ipBytes else { return false }
        return bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// Whether a connection from `local` to this address stays inside the machine: a loopback peer, or the
    /// machine's own address at both ends (the kernel routes that over the loopback device too).
    public func isOnSameHost(as local: SocketAddress) -> Bool {
        guard let peer = ipBytes else { return false }
        return isLoopback || peer == local.ipBytes
    }
}
