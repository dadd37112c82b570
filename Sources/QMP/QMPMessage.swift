public import QObject

/// What a QMP server sends: its greeting, a command's reply, or an event.
public enum QMPMessage: Sendable, Equatable {
    case greeting(QMPGreeting)
    /// A command's `return`, with the `id` it was sent with.
    case success(QValue, id: QValue?)
    case failure(QMPCommandError, id: QValue?)
    case event(QMPEvent)

    /// Decodes one JSON value from the server; nil for an object that is none of the four.
    public init?(_ value: QValue) {
        guard let object = value.dict else { return nil }
        if let greeting = object["QMP"]?.dict {
            self = .greeting(QMPGreeting(greeting))
        } else if let returned = object["return"] {
            self = .success(returned, id: object["id"])
        } else if let error = object["error"]?.dict {
            self = .failure(
                QMPCommandError(class: error["class"]?.string ?? "GenericError", description: error["desc"]?.string ?? ""),
                id: object["id"])
        } else if let name = object["event"]?.string {
            let stamp = object["timestamp"]?.dict
            self = .event(QMPEvent(
                name: name, data: object["data"]?.dict ?? QDict(),
                seconds: stamp?["seconds"]?.int ?? 0, microseconds: stamp?["microseconds"]?.int ?? 0))
        } else {
            return nil
        }
    }
}

/// The server's greeting: `{"QMP": {"version": {"qemu": {...}, "package": "..."}, "capabilities": [...]}}`.
public struct QMPGreeting: Sendable, Equatable {
    public let major: Int64
    public let minor: Int64
    public let micro: Int64
    public let package: String
    public let capabilities: [String]

    public init(major: Int64, minor: Int64, micro: Int64, package: String, capabilities: [String]) {
        self.major = major
        self.minor = minor
        self.micro = micro
        self.package = package
        self.capabilities = capabilities
    }

    init(_ object: QDict) {
        let version = object["version"]?.dict
        let qemu = version?["qemu"]?.dict
        self.init(
            major: qemu?["major"]?.int ?? 0, minor: qemu?["minor"]?.int ?? 0, micro: qemu?["micro"]?.int ?? 0,
            package: version?["package"]?.string ?? "",
            capabilities: object["capabilities"]?.list?.compactMap(\.string) ?? [])
    }

    /// `7.2.22`.
    public var version: String { "\(major).\(minor).\(micro)" }
}

/// An asynchronous event, with QEMU's timestamp (seconds and microseconds since the epoch).
public struct QMPEvent: Sendable, Equatable {
    public let name: String
    public let data: QDict
    public let seconds: Int64
    public let microseconds: Int64

    public init(name: String, data: QDict = QDict(), seconds: Int64, microseconds: Int64) {
        self.name = name
        self.data = data
        self.seconds = seconds
        self.microseconds = microseconds
    }
}

/// An error reply: QEMU's class (`GenericError`, `CommandNotFound`, ...) and its description, which is what
/// QEMU's own HMP prints after `Error: `.
public struct QMPCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public let `class`: String
    public let description: String

    public init(class errorClass: String, description: String) {
        self.class = errorClass
        self.description = description
    }
}
