/// A request the backend refused or could not carry out, worded as QEMU words it; the monitor prints it as
/// `Error: <message>` (several lines when QEMU adds a hint).
struct BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
