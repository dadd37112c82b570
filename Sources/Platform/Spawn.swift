public import SystemPackage
import CLinux
import Glibc

/// posix_spawn as hmp's children need it: chosen descriptors as stdin, stdout and stderr and nothing else
/// inherited, default SIGPIPE (hmp ignores it) and an empty signal mask (a caller's thread may block signals).
public enum Spawn {
    /// Starts `path` with `arguments` (argv[0] first); `-1` for a standard descriptor means /dev/null. With
    /// `newProcessGroup`, the child leads a group of its own, so that a signal to -pid reaches what it starts.
    public static func start(
        _ path: String, _ arguments: [String], stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = 2,
        newProcessGroup: Bool = false
    ) -> Result<Int32, Errno> {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        for (source, target, mode) in [(stdin, STDIN_FILENO, O_RDONLY), (stdout, STDOUT_FILENO, O_WRONLY),
                                       (stderr, STDERR_FILENO, O_WRONLY)] {
            if source < 0 {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", mode, 0)
            } else {
                posix_spawn_file_actions_adddup2(&actions, source, target)
            }
        }
        hmp_spawn_close_from(&actions, 3)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var child: Int32 = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let result = posix_spawn(&child, path, &actions, &attributes, &argv, environ)
        guard result == 0 else { return .failure(Errno(rawValue: result)) }
        return .success(child)
    }

    /// A descriptor that polls readable once `pid` has exited (pidfd_open), close-on-exec.
    public static func exitDescriptor(_ pid: Int32) -> Result<Int32, Errno> {
        retryingInterrupts { hmp_pidfd_open(pid) }
    }
}
