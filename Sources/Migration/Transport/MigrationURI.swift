/// Where a migration stream goes to or comes from, parsed as QEMU 7.2's migrate / -incoming URIs.
///
/// tcp hosts and ports stay text, as QEMU hands them to getaddrinfo: `tcp:127.0.0.1:abc` parses and fails later
/// with getaddrinfo's message, and an IPv6 host is kept without its brackets.
public enum MigrationURI: Sendable, Equatable, CustomStringConvertible {
    /// `tcp:HOST:PORT`; HOST may be empty (`tcp::4444`) or `0`: both listen on all addresses.
    case tcp(host: String, port: String)
    /// `unix:PATH`.
    case unix(path: String)
    /// `exec:CMD`, run by /bin/sh -c; outgoing it reads the stream on stdin, incoming it writes it on stdout.
    case exec(command: String)
    /// `fd:NAME`, a descriptor passed with getfd, or a number.
    case fd(name: String)
    /// `defer` (incoming only): wait for migrate_incoming.
    case deferred

    /// Parses `text` for `migrate` (outgoing) or for `-incoming` / `migrate_incoming`, with QEMU's error texts for
    /// each direction: they differ for an unknown protocol.
    public init(parsing text: String, incoming: Bool = false) throws(MigrationError) {
        if text.hasPrefix("tcp:") {
            let (host, port) = try MigrationURI.parseInet(String(text.dropFirst(4)))
            self = .tcp(host: host, port: port)
        } else if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            // socket_parse rejects an empty path up front.
            if path.isEmpty { throw MigrationError("invalid Unix socket address") }
            self = .unix(path: path)
        } else if text.hasPrefix("exec:") {
            self = .exec(command: String(text.dropFirst(5)))
        } else if text.hasPrefix("fd:") {
            self = .fd(name: String(text.dropFirst(3)))
        } else if incoming && text == "defer" {
            self = .deferred
        } else if incoming {
            throw MigrationError("unknown migration protocol: \(text)")
        } else {
            throw MigrationError(MigrationURI.unknownProtocol)
        }
    }

    /// migrate's error for a scheme it does not know; QEMU's state is then failed without an error-desc.
    public static let unknownProtocol = "Parameter 'uri' expects a valid migration protocol"

    /// QEMU's inet_parse: `:PORT`, `[V6]:PORT` or `HOST:PORT` (split at the first colon, so `a:b:c` is host `a`,
    /// port `b:c`), hosts up to 64 and ports up to 32 bytes, options after a comma ignored.
    static func parseInet(_ text: String) throws(MigrationError) -> (host: String, port: String) {
        let bytes = Array(text.utf8)
        // The port runs to the first comma (options such as `,to=` or `,ipv4` are not supported and are dropped).
        func port(from start: Int) -> String? {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: ",") { end += 1 }
            guard end > start else { return nil }
            return String(decoding: bytes[start..<min(end, start + 32)], as: UTF8.self)
        }
        if bytes.first == UInt8(ascii: ":") {
            guard let p = port(from: 1) else { throw MigrationError("error parsing port in address '\(text)'") }
            return ("", p)
        }
        if bytes.first == UInt8(ascii: "[") {
            let ipv6Error = MigrationError("error parsing IPv6 address '\(text)'")
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1, close <= 65,
                  close + 1 < bytes.count, bytes[close + 1] == UInt8(ascii: ":"),
                  let p = port(from: close + 2)
            else { throw ipv6Error }
            return (String(decoding: bytes[1..<close], as: UTF8.self), p)
        }
        let addressError = MigrationError("error parsing address '\(text)'")
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon <= 64,
              let p = port(from: colon + 1)
        else { throw addressError }
        return (String(decoding: bytes[0..<colon], as: UTF8.self), p)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        case .exec(let command): "exec:\(command)"
        case .fd(let name): "fd:\(name)"
        case .deferred: "defer"
        }
    }
}
