import Platform
import QMP
import QObject
import Synchronization

/// QMP's events for every negotiated client of every `-qmp` server, as the backend publishes them (no polling):
/// the built-in machine's STOP, RESUME, MIGRATION and MIGRATION_PASS (the last two only with the `events`
/// capability on, as QEMU), every event of a QEMU behind `--connect` as it sent it, and SHUTDOWN when hmp ends.
/// Each keeps the moment it happened, so that STOP on a source and RESUME on its destination bound the guest's
/// real downtime. A command's events go out before its reply, as QEMU sends them (`flush`).
///
/// Lock order: the session list's lock is held only to copy the list, never while calling out; and no event
/// needs the command lock (the `events` capability is read from a backend that guards it itself), so delivering
/// events inside a command or outside it cannot deadlock.
final class QMPEvents: Sendable {
    private let dispatcher: CommandDispatcher
    private let sessions = Mutex<[QMPSession]>([])
    private let shutdownSent = Atomic<Bool>(false)

    init(dispatcher: CommandDispatcher) {
        self.dispatcher = dispatcher
    }

    func attach(_ session: QMPSession) { sessions.withLock { $0.append(session) } }
    func detach(_ session: QMPSession) { sessions.withLock { $0.removeAll { $0 === session } } }

    /// Subscribes to the backend's events. On the loop's thread, before the first client.
    func startWatching() {
        dispatcher.backend.observeEvents { [weak self] event in self?.forward(event) }
    }

    /// Sends the events that happened so far: called before each QMP reply.
    func flush() {
        dispatcher.backend.deliverEvents()
    }

    private func forward(_ event: BackendEvent) {
        guard !shutdownSent.load(ordering: .acquiring) else { return }
        // hmp's own note that events were lost is for people, not for QMP clients.
        if event.name == "HMP_EVENTS_DROPPED" { return }
        if event.needsEventsCapability, !dispatcher.backend.migrationCapabilities["events"] { return }
        send(event.event)
    }

    /// SHUTDOWN, once: `quit` (QMP's or HMP's: both are qmp_quit in QEMU) or a signal.
    func shutdown(reason: String) {
        flush()
        guard !shutdownSent.exchange(true, ordering: .acquiringAndReleasing) else { return }
        send(BackendEventRelay.stamped("SHUTDOWN", ["guest": false, "reason": .string(reason)]))
    }

    /// `{"timestamp": {"seconds": S, "microseconds": U}, "event": NAME, "data": {...}}`, the same bytes to every
    /// negotiated client; `data` only when QEMU would send it.
    private func send(_ event: QMPEvent) {
        var message = QDict()
        message["timestamp"] = ["seconds": .int(event.seconds), "microseconds": .int(event.microseconds)]
        message["event"] = .string(event.name)
        // QEMU leaves `data` out of the events that have none (STOP, RESUME); every other one carries members.
        if !event.data.isEmpty { message["data"] = .dict(event.data) }
        for session in sessions.withLock({ $0 }) where session.isNegotiated {
            session.send(.dict(message))
        }
    }
}
