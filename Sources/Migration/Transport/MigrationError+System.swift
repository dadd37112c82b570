internal import Glibc
internal import Platform

/// `prefix: strerror(code)`, QEMU's error_setg_errno shape, as a migration error.
func systemError(_ prefix: String, _ code: Int32 = errno) -> MigrationError {
    MigrationError("\(prefix): \(errnoText(code))")
}

/// The same from Platform's typed errors, whose own operation names are replaced by QEMU's `prefix`.
func systemError(_ prefix: String, _ error: SystemError) -> MigrationError {
    systemError(prefix, error.errno.rawValue)
}
