import Glibc

/// A second local user for tests of what one user can do to another: created once (useradd, no home, no login)
/// and driven with runuser. The tests run as root, as this project's machines do; without root they fail,
/// saying so, rather than skip.
public enum SecondUser {
    public static let name = "hmp-other"

    /// Creates the user if it is not there yet; its uid.
    public static func ensure() throws -> UInt32 {
        if let uid = uid() { return uid }
        let made = try runProgram(
            "/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], timeout: 20)
        // Another test process may have created it meanwhile.
        guard let uid = uid() else {
            throw UserError(text: "useradd \(name) failed (status \(made.status)): \(made.stderr); the test needs root")
        }
        return uid
    }

    public static func uid() -> UInt32? {
        guard let entry = getpwnam(name) else { return nil }
        return entry.pointee.pw_uid
    }

    /// Runs `script` with /bin/sh as the second user; its output and status.
    @discardableResult
    public static func run(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProgram("/usr/sbin/runuser", ["-u", name, "--", "/bin/sh", "-c", script], timeout: 20)
    }

    public struct UserError: Error, CustomStringConvertible {
        let text: String
        public var description: String { text }
    }
}
