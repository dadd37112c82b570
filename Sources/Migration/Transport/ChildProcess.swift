internal import Glibc
import CLinux
import Platform
import Synchronization

/// A `/bin/sh -c CMD` child for exec: migration, in its own process group so that shutdown() can kill the shell and
/// whatever it started (a pipeline's members hold the pipe too, and only their death wakes a blocked read or write).
final class ChildProcess: Sendable {
    let pid: pid_t
    /// Set once waitpid has collected the child; from then on `pid` may name another process and must not be signalled.
    private let reaped = Mutex(false)

    /// Which end of the stream the child gets.
    enum Direction { case childReadsStdin, childWritesStdout }

    /// Spawns `command` with `streamFD` as its stdin or stdout and /dev/null as the other; stderr is shared so that
    /// the command's complaints show, as with QEMU. Descriptors the transports open are all close-on-exec.
    init(command: String, streamFD: Int32, direction: Direction) throws(MigrationError) {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        let (streamTarget, nullTarget, nullMode) = direction == .childReadsStdin
            ? (STDIN_FILENO, STDOUT_FILENO, O_WRONLY) : (STDOUT_FILENO, STDIN_FILENO, O_RDONLY)
        posix_spawn_file_actions_adddup2(&actions, streamFD, streamTarget)
        posix_spawn_file_actions_addopen(&actions, nullTarget, "/dev/null", nullMode, 0)
        // Every descriptor hmp opens is close-on-exec; this closes, in the child, any that something else leaked,
        // so that the command sees only its stdin, stdout and stderr.
        hmp_spawn_close_from(&actions, 3)

        // Default SIGPIPE (we ignore it) and an empty mask (the migration thread may block signals), as a shell expects.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        var child: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let result = posix_spawn(&child, "/bin/sh", &actions, &attributes, &argv, environ)
        guard result == 0 else { throw systemError("Failed to spawn '\(command)'", result) }
        pid = child
    }

    /// Kills the child's whole process group with `signal` unless it has been reaped.
    func kill(_ signal: Int32) {
        reaped.withLock { done in
            if !done { _ = Glibc.kill(-pid, signal) }
        }
    }

    /// Collects the child if it has exited; true once it has.
    private func tryReap() -> Bool {
        reaped.withLock { done in
            if done { return true }
            var status: Int32 = 0
            switch retryingInterrupts({ waitpid(pid, &status, WNOHANG) }) {
            case .success(let collected): done = collected == pid
            // ECHILD: someone else (a SIGCHLD handler set to SIG_IGN) collected it; either way it is gone.
            case .failure: done = true
            }
            return done
        }
    }

    /// Waits up to `grace` seconds for the child to finish on its own (`exec:cat > FILE` must get to write the
    /// end of the stream), then SIGTERM, then SIGKILL, which always ends in a reap. QEMU waits only 10 ms before
    /// signalling; a longer grace keeps files written by a slow command complete.
    func reap(grace: Double) {
        let deadline = Clock.seconds() + grace
        while !tryReap() {
            if Clock.seconds() >= deadline { break }
            usleep(5_000)
        }
        if tryReap() { return }
        kill(SIGTERM)
        let termDeadline = Clock.seconds() + 0.2
        while !tryReap() && Clock.seconds() < termDeadline { usleep(5_000) }
        while !tryReap() {
            kill(SIGKILL)
            usleep(5_000)
        }
    }
}
