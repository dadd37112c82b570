import Glibc
import Machine
import Migration
import MigrationModel
import Platform
import Synchronization

/// `--demo-destination HOST:PORT`: the demo's second machine, an hmp child shaped like this one (the same RAM size,
/// an empty copy of each drive) waiting for `migrate -b tcp:HOST:PORT`. After every migration to it a fresh one
/// listens in its place, so the migration can be typed again and again: one that received the guest stays up
/// beside it (its listener is closed once the stream is accepted) until the next one does, so that what arrived
/// can be looked at through its monitor; one whose migration failed or was cancelled is ended. When the listening
/// one dies on its own, the monitors hear so and a fresh one takes its place. Every file lives in a directory of
/// its own, removed when hmp ends.
final class DemoDestination {
    /// One destination hmp and its files.
    private struct Instance {
        let pid: Int32
        let generation: Int
        let monitorPath: String
        let drivePaths: [String]
        var exitDescriptor: Int32 = -1
        var exitSource: EventLoop.SourceID?
        /// Once collected, its pid may name another process and must not be signalled.
        var reaped = false
    }

    let host: String
    let port: Int
    let directory: String
    private let configuration: MachineConfiguration
    private let backend: LocalBackend
    private let hub: MonitorHub
    private var listening: Instance?
    /// The last destination that received the guest, still running.
    private var arrived: Instance?
    private var generation = 0
    private var timer: EventLoop.TimerID?
    /// While no destination could start: the pending retry and how many have failed since the last one that did.
    private var retry: EventLoop.TimerID?
    private var failedStarts = 0
    /// Why the first destination could not start, said in the introduction.
    private var startFailure: Failure?
    /// Ends of outgoing migrations, recorded on the migration's thread for the loop to act on each once.
    private let ends = Ends()

    private final class Ends: Sendable {
        private let statuses = Mutex<[MigrationStatus]>([])
        func add(_ status: MigrationStatus) { statuses.withLock { $0.append(status) } }
        func take() -> [MigrationStatus] { statuses.withLock { s in defer { s.removeAll() }; return s } }
        var isEmpty: Bool { statuses.withLock { $0.isEmpty } }
    }

    /// Why the demo's destination could not start.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    var logPath: String { directory + "/destination.log" }

    init(address: String, configuration: MachineConfiguration, backend: LocalBackend, hub: MonitorHub) throws(Failure) {
        guard let (parsedHost, portText) = try? QEMUSocketAddress.parseInet(address), !parsedHost.isEmpty,
            let port = Int(portText), (1...65535).contains(port)
        else {
            throw Failure(description: "--demo-destination \(address): expected HOST:PORT, e.g. 127.0.0.1:4444")
        }
        // Kept as written, brackets and all: it is only ever printed before `:PORT`.
        host = parsedHost.contains(":") ? "[\(parsedHost)]" : parsedHost
        self.port = port
        self.configuration = configuration
        self.backend = backend
        self.hub = hub
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/hmp-destination.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "--demo-destination: cannot create its directory: \(errnoText(errno))")
        }
        directory = String(cString: made)
    }

    /// Starts the first destination, once it listens, and watches the migrations from the loop. A destination that
    /// cannot start (its port is taken) is retried with a growing pause, said once in the introduction.
    func start() {
        do throws(Failure) {
            listening = try spawn()
        } catch {
            startFailure = error
            scheduleRetry()
        }
        backend.migration.observeEvents { [ends, loop = hub.loop] event in
            guard case .status(let status) = event, status.isFinished else { return }
            ends.add(status)
            loop.wake()
        }
        timer = hub.loop.every(milliseconds: 100) { [unowned self] in lookAtMigration() }
    }

    /// The lines the demo says first.
    var introduction: String {
        if let startFailure {
            return "\(startFailure); \(retryAdvice)"
        }
        return "A destination hmp (pid \(listening?.pid ?? 0)) listens on \(host):\(port) only: type  migrate -b "
            + "tcp:\(host):\(port)  to move this machine there; after each migration a fresh one listens in its place."
            + "\nIts monitor: \(listening?.monitorPath ?? "none"); the destinations' log: \(logPath)"
    }

    /// What hmp does about a destination that could not start, and what the user can do.
    private var retryAdvice: String {
        "hmp tries again, less often each time (every \(Self.retryLimitSeconds) s at most), and says when one listens. "
            + "To use another port, start hmp with --demo-destination \(host):OTHER_PORT and migrate -b tcp:\(host):OTHER_PORT."
    }

    static let retryLimitSeconds = 30

    /// Tries again after 1, 2, 4 ... s, at most `retryLimitSeconds` apart.
    private func scheduleRetry() {
        let seconds = min(1 << min(failedStarts, 5), Self.retryLimitSeconds)
        failedStarts += 1
        retry = hub.loop.after(milliseconds: UInt64(seconds) * 1000) { [unowned self] in
            retry = nil
            guard listening == nil else { return }
            do throws(Failure) {
                let fresh = try spawn()
                listening = fresh
                failedStarts = 0
                startFailure = nil
                hub.broadcast(
                    terminal: "The demo's destination listens on \(host):\(port) now (pid \(fresh.pid)): "
                        + "migrate -b tcp:\(host):\(port) moves this machine there")
            } catch {
                scheduleRetry()
            }
        }
    }

    /// Ends every destination and removes the files.
    func stop() {
        if let timer { hub.loop.cancel(timer) }
        timer = nil
        if let retry { hub.loop.cancel(retry) }
        retry = nil
        end(&listening)
        end(&arrived)
        unlink(logPath)
        rmdir(directory)
    }

    private func spawn() throws(Failure) -> Instance {
        generation += 1
        let monitorPath = "\(directory)/destination-\(generation).sock"
        var arguments = ["hmp", "-m", "\(configuration.ramSize >> 10)K", "-S", "-name", "destination-\(generation)",
                         "-incoming", "tcp:\(host):\(port)", "-monitor", "unix:\(monitorPath),server=on,wait=off",
                         "-monitor", "none"]
        var drivePaths: [String] = []
        for drive in configuration.drives {
            let path = "\(directory)/\(drive.id)-\(generation).img"
            // Empty, so that block migration has all of the disk to carry.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure(description: "demo destination: '\(path)': \(errnoText(errno))") }
            var info = stat()
            _ = stat(drive.path, &info)
            _ = ftruncate(fd, info.st_size)
            close(fd)
            drivePaths.append(path)
            arguments += ["-drive", "file=\(path),id=\(drive.id)"]
        }
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { if log >= 0 { close(log) } }
        let pid: Int32
        switch Spawn.start("/proc/self/exe", arguments, stdout: log, stderr: log) {
        case .success(let child): pid = child
        case .failure(let error): throw Failure(description: "demo destination: cannot start hmp: \(error)")
        }
        var instance = Instance(pid: pid, generation: generation, monitorPath: monitorPath, drivePaths: drivePaths)
        if case .success(let fd) = Spawn.exitDescriptor(pid) {
            instance.exitDescriptor = fd
            instance.exitSource = hub.loop.watch(fd) { [unowned self] _ in exited(pid) }
        }
        // The monitor socket comes after the incoming listener: once it is there, so is the listener.
        let deadline = Clock.milliseconds() + 10_000
        while access(monitorPath, F_OK) != 0 && Clock.milliseconds() < deadline {
            if waitpid(pid, nil, WNOHANG) == pid {
                instance.reaped = true
                var gone: Instance? = instance
                end(&gone)
                throw Failure(description: "the demo's destination exited at start-up (is \(host):\(port) taken?); see \(logPath)")
            }
            Clock.sleep(milliseconds: 10)
        }
        return instance
    }

    /// Kills a destination if it still runs, collects it and removes its files.
    private func end(_ instance: inout Instance?) {
        guard let ending = instance else { return }
        instance = nil
        if let source = ending.exitSource { hub.loop.remove(source) }
        if ending.exitDescriptor >= 0 { close(ending.exitDescriptor) }
        if !ending.reaped {
            kill(ending.pid, SIGKILL)
            _ = retryingInterrupts { waitpid(ending.pid, nil, 0) }
        }
        unlink(ending.monitorPath)
        for path in ending.drivePaths { unlink(path) }
    }

    /// Starts a fresh destination and tells the monitors, with `line` first.
    private func listenAgain(_ line: String) {
        do throws(Failure) {
            let fresh = try spawn()
            listening = fresh
            hub.broadcast(terminal: line + "; a fresh destination listens on \(host):\(port) (pid \(fresh.pid))")
        } catch {
            hub.broadcast(terminal: "\(line); \(error); \(retryAdvice)")
            scheduleRetry()
        }
    }

    /// Each end of a migration is acted on once.
    private func lookAtMigration() {
        for status in ends.take() { migrationEnded(status) }
    }

    private func migrationEnded(_ status: MigrationStatus) {
        // A migration to somewhere else left the demo's destination as it was.
        guard let previous = listening, !isStillWaiting(previous) else { return }
        if let source = previous.exitSource { hub.loop.remove(source) }
        listening = nil
        if status == .completed {
            end(&arrived)
            arrived = previous
            listenAgain("The guest arrived at the demo's destination (monitor: \(previous.monitorPath)); cont resumes it here")
        } else {
            var ended: Instance? = previous
            end(&ended)
            listenAgain("The migration \(status.rawValue); the demo's destination is replaced")
        }
    }

    /// True while `instance` still waits for its incoming migration, asked through its monitor (briefly: a
    /// destination that does not answer within a second is taken as having had its turn).
    private func isStillWaiting(_ instance: Instance) -> Bool {
        guard let address = SocketAddress.unix(path: instance.monitorPath),
            let socket = try? Descriptor.socket(family: AF_UNIX)
        else { return false }
        defer { Descriptor.close(socket) }
        guard address.withSockaddr({ connect(socket, $0, $1) }) == 0 else { return false }
        var answer = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Clock.milliseconds() + 1000
        var asked = false
        while Clock.milliseconds() < deadline {
            if answer.hasSuffix("(qemu) ") {
                if asked { break }
                try? Descriptor.writeAll(socket, "info status\n")
                asked = true
                answer = ""
            }
            var ready = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) >= 0 else { return false }
            if ready.revents == 0 { continue }
            guard let n = try? Descriptor.read(socket, into: &buffer), n > 0 else { return false }
            answer += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return answer.contains("(inmigrate)")
    }

    /// The listening destination exited. At the end of a migration the timer takes care of it; else it died.
    private func exited(_ pid: Int32) {
        guard let instance = listening, instance.pid == pid else { return }
        if let source = instance.exitSource { hub.loop.remove(source) }
        listening?.exitSource = nil
        // During a migration, or at its end (not yet acted on): its end replaces the destination.
        if backend.migrationInfo.status.isRunning || !ends.isEmpty { return }
        var code: Int32 = 0
        _ = retryingInterrupts { waitpid(pid, &code, WNOHANG) }
        let how = code & 0x7f == 0 ? "exited with status \((code >> 8) & 0xff)" : "was killed by signal \(code & 0x7f)"
        var gone = listening
        gone?.reaped = true
        listening = nil
        end(&gone)
        listenAgain("The demo's destination \(how) (its log: \(logPath))")
    }
}
