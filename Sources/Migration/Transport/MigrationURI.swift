import Platform

/// Where a migration stream goes to or comes from, parsed as QEMU 7.2's migrate / -incoming URIs.
/// tcp: and unix: are read by Platform's `QEMUSocketAddress` (QEMU's socket_parse).
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
        if text.hasPrefix("tcp:") || text.hasPrefix("unix:") {
            do throws(QEMUSocketAddress.Failure) {
                switch try QEMUSocketAddress.parse(text) {
                case .tcp(let host, let port): self = .tcp(host: host, port: port)
                case .unix(let path): self = .unix(path: path)
                }
            } catch {
                throw MigrationError(error.qemuText)
            }
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

    public var description: String {
        switch self {
        case .tcp(let host, let port): QEMUSocketAddress.tcp(host: host, port: port).description
        case .unix(let path): QEMUSocketAddress.unix(path: path).description
        case .exec(let command): "exec:\(command)"
        case .fd(let name): "fd:\(name)"
        case .deferred: "defer"
        }
    }
}
