/// Where the monitor listens, from `-monitor`.
public enum MonitorEndpoint: Sendable, Equatable {
    case stdio
    case none
    /// A unix socket that serves one client at a time; `wait` holds start-up until the first client connects.
    case unixSocket(path: String, wait: Bool)

    /// Reads QEMU's chardev spelling: `stdio`, `none`, `unix:PATH,server=on,wait=off` (also `server`, `nowait`).
    public init(parsing text: String) throws(MonitorEndpointError) {
        switch text {
        case "stdio": self = .stdio
        case "none": self = .none
        default:
            guard text.hasPrefix("unix:") else { throw MonitorEndpointError(text: text, reason: "unknown monitor device") }
            var fields = text.dropFirst("unix:".count).split(separator: ",", omittingEmptySubsequences: false)
            let path = String(fields.removeFirst())
            guard !path.isEmpty else { throw MonitorEndpointError(text: text, reason: "the socket path is empty") }
            var server = false
            var wait = true
            for field in fields {
                switch field {
                case "server", "server=on": server = true
                case "server=off": server = false
                case "nowait", "wait=off": wait = false
                case "wait", "wait=on": wait = true
                default:
                    throw MonitorEndpointError(text: text, reason: "unknown socket option '\(field)'")
                }
            }
            guard server else {
                throw MonitorEndpointError(text: text, reason: "hmp only listens: add ',server=on'")
            }
            self = .unixSocket(path: path, wait: wait)
        }
    }
}

public struct MonitorEndpointError: Error, CustomStringConvertible {
    public let text: String
    public let reason: String

    public var description: String {
        "-monitor \(text): \(reason) (use stdio, none, or unix:PATH,server=on,wait=off)"
    }
}
