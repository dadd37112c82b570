internal import Glibc
internal import Platform

/// `prefix: strerror(code)`, QEMU's error_setg_errno shape.
func systemError(_ prefix: String, _ code: Int32 = errno) -> MigrationError {
    MigrationError("\(prefix): \(errnoText(code))")
}

/// Closes `fd`, ignoring EINTR: on Linux the descriptor is released even then, so retrying could close a reused one.
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// Sets or clears O_NONBLOCK.
func setNonBlocking(_ fd: Int32, _ on: Bool) {
    let flags = fcntl(fd, F_GETFL)
    guard flags >= 0 else { return }
    _ = fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
}

/// QEMU ignores SIGPIPE from the start (os_setup_early_signal_handling) so that writing to a peer that went away
/// fails with EPIPE instead of killing the process; the migration thread relies on the same. Spawned commands get the
/// default action back (see ChildProcess).
func ignoreSIGPIPE() {
    _ = signal(SIGPIPE, SIG_IGN)
}

/// Sets FD_CLOEXEC, so that exec: commands do not inherit the descriptor.
func setCloseOnExec(_ fd: Int32) {
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
}
