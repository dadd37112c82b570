public import Glibc
import Foundation

/// Everything the tests start that could outlive them: Swift Testing keeps the values an expectation looked at
/// until the run ends, so deinit is not a reliable place to stop processes. At exit, whatever is still running
/// is killed, so that no hmp, QEMU or tmux server outlives the test run.
public enum Leftovers {
    // Guarded by `lock`.
    nonisolated(unsafe) private static var pids: Set<pid_t> = []
    nonisolated(unsafe) private static var tmuxSockets: Set<String> = []
    private static let lock = NSLock()
    private static let installAtExit: Void = {
        atexit {
            Leftovers.lock.lock()
            let pids = Leftovers.pids, sockets = Leftovers.tmuxSockets
            Leftovers.lock.unlock()
            for pid in pids { kill(pid, SIGKILL) }
            for socket in sockets {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["tmux", "-L", socket, "kill-server"]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try? process.run()
                process.waitUntilExit()
            }
        }
    }()

    public static func add(pid: pid_t) {
        _ = installAtExit
        lock.lock(); defer { lock.unlock() }
        pids.insert(pid)
    }

    public static func remove(pid: pid_t) {
        lock.lock(); defer { lock.unlock() }
        pids.remove(pid)
    }

    public static func add(tmuxSocket: String) {
        _ = installAtExit
        lock.lock(); defer { lock.unlock() }
        tmuxSockets.insert(tmuxSocket)
    }

    public static func remove(tmuxSocket: String) {
        lock.lock(); defer { lock.unlock() }
        tmuxSockets.remove(tmuxSocket)
    }
}
