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
        let reads = direction == .childReadsStdin
        // A process group of its own, so that shutdown() reaches a pipeline's members too.
        switch Spawn.start("/bin/sh", ["/bin/sh", "-c", command], stdin: reads ? streamFD : -1,
                           stdout: reads ? -1 : streamFD, newProcessGroup: true) {
        case .success(let child): pid = child
        case .failure(let error): throw systemError("Failed to spawn '\(command)'", error.rawValue)
        }
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
