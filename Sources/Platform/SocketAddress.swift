public import Glibc

/// One resolved socket address, owned (getaddrinfo's list is freed right after resolving).
public struct SocketAddress: Sendable {
    public var storage = sockaddr_storage()
    public var length: socklen_t = 0

    public var family: Int32 { Int32(storage.ss_family) }

    public init() {}

    /// Copies `length` bytes of `address`.
    public init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        self.length = min(length, socklen_t(MemoryLayout<sockaddr_storage>.size))
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(self.length)))
        }
    }

    /// Runs `body` with the address as a `sockaddr` pointer, for connect and bind.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The numeric host and port, via getnameinfo; the host of an IPv6 address has no brackets, as QEMU prints it.
    public var numericHostAndPort: (host: String, port: String)? {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let result = withSockaddr { address, length in
            getnameinfo(address, length, &host, socklen_t(host.count), &port, socklen_t(port.count),
                        NI_NUMERICHOST | NI_NUMERICSERV)
        }
        guard result == 0 else { return nil }
        return (decodeCString(host), decodeCString(port))
    }

    /// The local address of socket `fd`.
    public static func local(of fd: Int32) -> SocketAddress? { named(fd, getsockname) }

    /// The peer address of connected socket `fd`.
    public static func peer(of fd: Int32) -> SocketAddress? { named(fd, getpeername) }

    private static func named(
        _ fd: Int32, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> SocketAddress? {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &address.length) }
        }
        return result == 0 ? address : nil
    }

    /// A unix-domain address for `path`; nil when the path does not fit sun_path (a full 108 bytes without the
    /// terminating NUL is accepted, as Linux does).
    public static func unix(path: String) -> SocketAddress? {
        let bytes = Array(path.utf8)
        var un = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: un.sun_path)
        guard bytes.count <= capacity else { return nil }
        un.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &un.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count)
        return withUnsafePointer(to: &un) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: length) }
        }
    }
}

/// A NUL-terminated C buffer as a String, without the deprecated String(cString:) on arrays.
func decodeCString(_ buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
