/// Why a migration, outgoing or incoming, could not go on. `message` reads as QEMU 7.2's text where QEMU has one
/// (`Failed to connect to '127.0.0.1:4444': Connection refused`, `Not a migration stream`), so that what `info
/// migrate` shows as `failed (reason)` matches QEMU's; `context` lines come before it, outermost first, as QEMU
/// prints `error while loading state section id 2(ram)` before the cause.
public struct MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var context: [String]

    public init(_ message: String, context: [String] = []) {
        self.message = message
        self.context = context
    }

    /// The same error with `line` as the new outermost context.
    public func adding(context line: String) -> MigrationError {
        MigrationError(message, context: [line] + context)
    }

    public var description: String { (context + [message]).joined(separator: "\n") }
}
