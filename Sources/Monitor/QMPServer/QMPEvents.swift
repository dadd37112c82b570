import Glibc
import Machine
import Migration
import Platform
import QObject
import Synchronization

/// QMP's events for every negotiated client of every `-qmp` server: STOP and RESUME when the run state leaves or
/// enters `running`, MIGRATION and MIGRATION_PASS (only with the `events` capability on, as QEMU), SHUTDOWN.
/// They go out after each QMP command (so that a command's event comes before its reply, as QEMU sends it) and
/// every 20 ms on the event loop for the rest. The built-in machine reports each run state, and its migration each
/// status and pass, as it happens (Machine.observeRunState, MigrationState.observeEvents): each is kept with its
/// time until then, so that the timestamps are the moments themselves (STOP on a source and RESUME on its
/// destination bound the guest's real downtime). A QEMU behind --connect is compared with what was seen last.
final class QMPEvents: Sendable {
    private struct Seen {
        var runState: RunState
        var status: MigrationStatus
        var pass: UInt64
        var shutdownSent = false
    }

    private let dispatcher: CommandDispatcher
    private let seen: Mutex<Seen>
    private let sessions = Mutex<[QMPSession]>([])
    private enum Change {
        case runState(RunState)
        case migration(MigrationEvent)
    }

    /// Changes recorded by the machine and the migration's threads, with their wall-clock time, oldest first.
    private let recorded = Mutex<[(Change, timespec)]>([])
    /// True once the backend reports its changes itself.
    private let hooked = Atomic<Bool>(false)

    init(dispatcher: CommandDispatcher) {
        self.dispatcher = dispatcher
        let backend = dispatcher.backend
        let info = backend.migrationInfo
        seen = Mutex(Seen(runState: backend.runState, status: info.status, pass: info.pass))
    }

    func attach(_ session: QMPSession) { sessions.withLock { $0.append(session) } }
    func detach(_ session: QMPSession) { sessions.withLock { $0.removeAll { $0 === session } } }

    /// Compares the states every 20 ms until hmp quits.
    func startWatching() {
        if let local = dispatcher.backend as? LocalBackend {
            hooked.store(true, ordering: .sequentiallyConsistent)
            local.machine.observeRunState { [weak self] state in self?.record(.runState(state)) }
            local.migration.observeEvents { [weak self] event in self?.record(.migration(event)) }
            // From here every change is recorded; one made before is where the clients start from.
            seen.withLock { $0.runState = local.machine.runState }
        }
        dispatcher.hub.loop.every(milliseconds: 20) { [self] in check() }
    }

    private func record(_ change: Change) {
        let now = Self.now()
        recorded.withLock { $0.append((change, now)) }
    }

    /// Sends the events for what changed since the last look.
    func check() {
        let backend = dispatcher.backend
        seen.withLock { seen in
            guard !seen.shutdownSent else { return }
            if hooked.load(ordering: .sequentiallyConsistent) {
                let changes = recorded.withLock { changes in
                    defer { changes.removeAll() }
                    return changes
                }
                guard !changes.isEmpty else { return }
                let eventsOn = dispatcher.withCommandLock { backend.migrationCapabilities["events"] }
                for (change, time) in changes {
                    switch change {
                    case .runState(let state): runStateChanged(&seen, to: state, at: time)
                    case .migration(.status(let status)):
                        if eventsOn { send("MIGRATION", ["status": .string(status.rawValue)], at: time) }
                    case .migration(.pass(let pass)):
                        if eventsOn { send("MIGRATION_PASS", ["pass": .uint(pass)], at: time) }
                    }
                }
                return
            }
            runStateChanged(&seen, to: backend.runState)
            let info = backend.migrationInfo
            let eventsOn = dispatcher.withCommandLock { backend.migrationCapabilities["events"] }
            if info.pass != seen.pass {
                if eventsOn && info.pass > seen.pass { send("MIGRATION_PASS", ["pass": .uint(info.pass)]) }
                seen.pass = info.pass
            }
            if info.status != seen.status {
                if eventsOn && info.status != .none { send("MIGRATION", ["status": .string(info.status.rawValue)]) }
                seen.status = info.status
            }
        }
    }

    private func runStateChanged(_ seen: inout Seen, to state: RunState, at time: timespec = QMPEvents.now()) {
        guard state != seen.runState else { return }
        if seen.runState.isRunning && !state.isRunning { send("STOP", at: time) }
        if !seen.runState.isRunning && state.isRunning { send("RESUME", at: time) }
        seen.runState = state
    }

    /// SHUTDOWN, once: `quit` (QMP's or HMP's: both are qmp_quit in QEMU) or a signal.
    func shutdown(reason: String) {
        check()
        seen.withLock { seen in
            guard !seen.shutdownSent else { return }
            seen.shutdownSent = true
            send("SHUTDOWN", ["guest": false, "reason": .string(reason)])
        }
    }

    /// `{"timestamp": {"seconds": S, "microseconds": U}, "event": NAME, "data": {...}}` from the wall clock,
    /// the same bytes to every negotiated client.
    private static func now() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }

    private func send(_ name: String, _ data: QDict? = nil, at time: timespec = QMPEvents.now()) {
        let now = time
        var event = QDict()
        event["timestamp"] = ["seconds": .int(Int64(now.tv_sec)), "microseconds": .int(Int64(now.tv_nsec / 1000))]
        event["event"] = .string(name)
        if let data { event["data"] = .dict(data) }
        for session in sessions.withLock({ $0 }) where session.isNegotiated {
            session.send(.dict(event))
        }
    }
}
