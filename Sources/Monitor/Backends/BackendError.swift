/// A request the backend refused or could not carry out, worded as QEMU words it; the monitor prints it as
/// `Error: <message>` (several lines when QEMU adds a hint).
struct BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }

    /// Runs `body`; its failure, of whatever type, becomes the backend's in that error's own words.
    static func describing<T>(_ body: () throws -> T) throws(BackendError) -> T {
        do { return try body() } catch { throw BackendError("\(error)") }
    }
}
