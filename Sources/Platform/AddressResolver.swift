import Glibc

/// A name that getaddrinfo could not resolve, in QEMU's words.
public struct AddressResolutionError: Error, Sendable, CustomStringConvertible {
    public let host: String
    public let port: String
    public let reason: String
    public var description: String { "address resolution failed for \(host):\(port): \(reason)" }
}

/// getaddrinfo for stream sockets, with QEMU's error text.
public enum AddressResolver {
    /// Every address for `host`:`port`, in getaddrinfo's order. `passive` asks for addresses to bind (an empty host
    /// then means every local address).
    public static func resolve(host: String, port: String, passive: Bool) throws(AddressResolutionError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var list: UnsafeMutablePointer<addrinfo>?
        // An empty host is getaddrinfo(NULL) when binding, as QEMU's inet_listen_saddr; when connecting QEMU passes
        // "" through and gets "Name or service not known", and so do we.
        let result = passive && host.isEmpty
            ? getaddrinfo(nil, port, &hints, &list)
            : getaddrinfo(host, port, &hints, &list)
        guard result == 0 else {
            let reason = result == EAI_SYSTEM ? errnoText(errno) : String(cString: gai_strerror(result))
            throw AddressResolutionError(host: host, port: port, reason: reason)
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr {
                addresses.append(SocketAddress(address, length: current.pointee.ai_addrlen))
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}
