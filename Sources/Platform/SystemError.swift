public import SystemPackage
import Glibc

/// A failed system call: what hmp was doing, and the system's reason as a typed errno.
///
/// Its description is QEMU's error_setg_errno shape, `operation: reason`, so that messages read as QEMU's.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed, in words a user can act on: `open '/tmp/disk.img'`, `monitor socket '/tmp/m.sock'`.
    public let operation: String
    public let errno: Errno

    public init(_ operation: String, errno: Errno) {
        self.operation = operation
        self.errno = errno
    }

    /// Captures the calling thread's errno now.
    public init(_ operation: String) {
        self.init(operation, errno: Errno(rawValue: Glibc.errno))
    }

    public var reason: String { errnoText(errno.rawValue) }
    public var description: String { "\(operation): \(reason)" }
}

/// The one errno-to-text function: strerror's words, as QEMU appends them after `: `.
public func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "Unknown error \(code)" }
    return String(cString: text)
}
