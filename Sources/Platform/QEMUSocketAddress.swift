/// A stream socket's address as QEMU 7.2 writes it (util/qemu-sockets.c, socket_parse and inet_parse): `unix:PATH`
/// or `tcp:HOST:PORT`, an IPv6 host in brackets. The one reader of these texts: `-qmp`, `--connect`, `migrate`,
/// `-incoming` and `--demo-destination` all parse here, and each words a failure its own way from `Failure`.
///
/// Hosts and ports stay text, as QEMU hands them to getaddrinfo: `tcp:127.0.0.1:abc` parses and fails only when
/// resolved, and an IPv6 host is kept without its brackets.
public enum QEMUSocketAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    /// An empty host (`tcp::4444`) means every local address to a listener.
    case tcp(host: String, port: String)

    /// Why a text is not an address; `qemuText` is what QEMU 7.2 says.
    public enum Failure: Error, Sendable, Equatable {
        /// Neither `unix:` nor `tcp:`. QEMU would read the whole text as HOST:PORT; hmp serves no such form.
        case unknownScheme(String)
        /// `unix:` and nothing after it.
        case emptyPath
        /// `:PORT` with no port, `[V6]:PORT` not closed or without a port, `HOST:PORT` without a colon or a port, or
        /// a host longer than 64 bytes: inet_parse's three refusals, each with the text after `tcp:`.
        case port(String)
        case ipv6(String)
        case address(String)

        public var qemuText: String {
            switch self {
            case .unknownScheme(let text), .address(let text): "error parsing address '\(text)'"
            case .emptyPath: "invalid Unix socket address"
            case .port(let text): "error parsing port in address '\(text)'"
            case .ipv6(let text): "error parsing IPv6 address '\(text)'"
            }
        }
    }

    /// socket_parse for the two kinds hmp serves: `unix:PATH` (commas and all) or `tcp:HOST:PORT`.
    public static func parse(_ text: String) throws(Failure) -> QEMUSocketAddress {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw .emptyPath }
            return .unix(path: path)
        }
        guard text.hasPrefix("tcp:") else { throw .unknownScheme(text) }
        let (host, port) = try parseInet(String(text.dropFirst("tcp:".count)))
        return .tcp(host: host, port: port)
    }

    /// inet_parse: `:PORT`, `[V6]:PORT` or `HOST:PORT`, split at the first colon (`a:b:c` is host `a`, port `b:c`),
    /// hosts up to 64 and ports up to 32 bytes as QEMU's sscanf widths; options after a comma (`,to=`, `,ipv4`)
    /// are not supported and are dropped.
    public static func parseInet(_ text: String) throws(Failure) -> (host: String, port: String) {
        let bytes = Array(text.utf8)
        // The port runs to the first comma.
        func port(from start: Int) -> String? {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: ",") { end += 1 }
            guard end > start else { return nil }
            return String(decoding: bytes[start..<min(end, start + 32)], as: UTF8.self)
        }
        if bytes.first == UInt8(ascii: ":") {
            guard let p = port(from: 1) else { throw .port(text) }
            return ("", p)
        }
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1, close <= 65,
                close + 1 < bytes.count, bytes[close + 1] == UInt8(ascii: ":"),
                let p = port(from: close + 2)
            else { throw .ipv6(text) }
            return (String(decoding: bytes[1..<close], as: UTF8.self), p)
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon <= 64,
            let p = port(from: colon + 1)
        else { throw .address(text) }
        return (String(decoding: bytes[0..<colon], as: UTF8.self), p)
    }

    /// As QEMU prints it, an IPv6 host in brackets.
    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
        }
    }
}
