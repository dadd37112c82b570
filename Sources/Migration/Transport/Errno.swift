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

/// QEMU ignores SIGPIPE from the start (os_setup_early_signal_handling) so that writing to a peer that went away
/// fails with EPIPE instead of killing the process; the migration thread relies on the same. Spawned commands get the
/// default action back (see ChildProcess).
func ignoreSIGPIPE() {
    _ = signal(SIGPIPE, SIG_IGN)
}
