import Glibc
import Platform
import QMP
import QObject
import Synchronization

/// Carries a backend's events to its observers on the event loop, in the order they happened. Any thread records
/// (the built-in machine's and migration's threads, the QMP client on the loop); the loop delivers, soon after
/// (a posted turn) or at once when asked (`deliver`, before a QMP reply). What waits is bounded: past `limit` the
/// oldest go, and the next delivery says how many were lost.
///
/// `@unchecked Sendable`: `record` is for any thread, behind `queue`'s mutex; the observers are the loop thread's
/// alone, as `observe`, `removeObserver` and `deliver` assert.
final class BackendEventRelay: @unchecked Sendable {
    static let limit = 4096

    struct ObserverID: Hashable {
        fileprivate let value: Int
    }

    private let loop: EventLoop
    private struct Queue {
        var events: [BackendEvent] = []
        var dropped = 0
        var posted = false
    }
    private let queue = Mutex(Queue())
    private var observers: [(id: Int, observe: (BackendEvent) -> Void)] = []
    private var nextObserver = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Calls `observer` with every event delivered from now until `removeObserver`.
    @discardableResult
    func observe(_ observer: @escaping (BackendEvent) -> Void) -> ObserverID {
        loop.assertInLoop()
        nextObserver += 1
        observers.append((nextObserver, observer))
        return ObserverID(value: nextObserver)
    }

    /// The events already being delivered still reach it.
    func removeObserver(_ id: ObserverID) {
        loop.assertInLoop()
        observers.removeAll { $0.id == id.value }
    }

    /// Keeps `name` (with `data`) stamped with the wall clock now.
    func record(_ name: String, _ data: QDict = QDict(), fromQEMU: Bool = false, needsEventsCapability: Bool = false) {
        record(BackendEvent(Self.stamped(name, data), fromQEMU: fromQEMU, needsEventsCapability: needsEventsCapability))
    }

    /// `name` (with `data`) stamped with the wall clock now.
    static func stamped(_ name: String, _ data: QDict = QDict()) -> QMPEvent {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return QMPEvent(name: name, data: data, seconds: Int64(now.tv_sec), microseconds: Int64(now.tv_nsec / 1000))
    }

    func record(_ event: BackendEvent) {
        let post = queue.withLock { queue -> Bool in
            if queue.events.count >= Self.limit {
                queue.events.removeFirst()
                queue.dropped += 1
            }
            queue.events.append(event)
            defer { queue.posted = true }
            return !queue.posted
        }
        if post { loop.post { [self] in deliver() } }
    }

    /// Hands every waiting event to the observers, oldest first. On the loop's thread.
    func deliver() {
        loop.assertInLoop()
        let (events, dropped) = queue.withLock { queue in
            defer {
                queue.events.removeAll(keepingCapacity: true)
                queue.dropped = 0
                queue.posted = false
            }
            return (queue.events, queue.dropped)
        }
        guard !events.isEmpty else { return }
        let all = observers
        if dropped > 0 {
            let note = BackendEvent(
                QMPEvent(name: "HMP_EVENTS_DROPPED", data: ["count": .int(Int64(dropped))],
                         seconds: events[0].event.seconds, microseconds: events[0].event.microseconds),
                fromQEMU: true)
            for observer in all { observer.observe(note) }
        }
        for event in events {
            for observer in all { observer.observe(event) }
        }
    }
}
