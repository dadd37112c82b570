public import Platform

/// Why talking to a QMP server failed, worded for the person at the prompt.
public enum QMPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered the command with an error.
    case command(QMPCommandError)
    /// The socket closed: QEMU quit, was killed, or dropped us.
    case connectionClosed
    /// A read or write failed.
    case system(SystemError)
    /// The server sent something that is not QMP (not JSON, or JSON of the wrong shape).
    case protocolViolation(String)
    /// No answer to a command (or no greeting) within the time allowed, in seconds.
    case timedOut(String, seconds: UInt64)
    /// hmp stopped waiting for an answer (it is quitting, or the person pressed ^C); the reason.
    case abandoned(String)
    /// An address that is not `unix:PATH` or `tcp:HOST:PORT`, and what is expected.
    case badAddress(String, String)
    /// Nothing accepted the connection, and why.
    case cannotConnect(String, String)

    public var description: String {
        switch self {
        case .command(let error): error.description
        case .connectionClosed: "the QMP connection was closed (QEMU quit or was killed)"
        case .system(let error): "\(error)"
        case .protocolViolation(let what): "the peer does not speak QMP: \(what)"
        case .timedOut(let what, let seconds): "QEMU did not answer \(what) within \(seconds) s"
        case .abandoned(let reason): "stopped waiting for QEMU: \(reason)"
        case .badAddress(let address, let expected): "invalid QMP address '\(address)': \(expected)"
        case .cannotConnect(let address, let reason): "cannot connect to QMP at '\(address)': \(reason)"
        }
    }
}
