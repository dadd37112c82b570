import Glibc
import Synchronization

/// The monitor's one event loop: a `poll` over every descriptor a front end watches (the terminal, stdin, monitor
/// and QMP sockets and their clients, the QMP client's socket), the wake-up pipe, and timers. Replies, events and
/// progress therefore arrive in the order they happened, on one thread, with no thread per source.
///
/// Everything but `post` and `wake` belongs to the thread that runs the loop. Other threads (the migration, the
/// workload, the incoming loader, signal handlers) never touch a front end: they `post` work, which the loop runs
/// between polls. `@unchecked Sendable` for `post` and `wake`; every other entry point asserts the loop's thread in
/// debug builds (`assertInLoop`).
public final class EventLoop: @unchecked Sendable {
    /// What a source waits for, and what poll found: POLLIN, POLLOUT and the conditions poll always reports.
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: Int16(POLLIN))
        public static let writable = Events(rawValue: Int16(POLLOUT))
        /// The peer hung up, an error, or a descriptor that is not open: reported whether asked for or not.
        public static let hangup = Events(rawValue: Int16(POLLHUP | POLLERR | POLLNVAL))
    }

    public struct SourceID: Hashable, Sendable {
        fileprivate let value: Int
    }

    public struct TimerID: Hashable, Sendable {
        fileprivate let value: Int
    }

    private final class Source {
        let id: Int
        let descriptor: Int32
        /// Asked before every poll, so that a source waits for POLLOUT only while it has something queued.
        let interest: () -> Events
        let handler: (Events) -> Void
        var removed = false
        /// True while its handler runs: a nested run of the loop (a command that waits) leaves it alone.
        var dispatching = false

        init(id: Int, descriptor: Int32, interest: @escaping () -> Events, handler: @escaping (Events) -> Void) {
            self.id = id
            self.descriptor = descriptor
            self.interest = interest
            self.handler = handler
        }
    }

    private struct Timer {
        let id: Int
        var due: UInt64
        /// Zero for a one-shot timer.
        let period: UInt64
        let handler: () -> Void
    }

    /// Written by signal handlers, `post` and `wake`; the loop drains it and runs what was posted.
    public let wakeup: Wakeup
    private var sources: [Source] = []
    private var timers: [Timer] = []
    private var nextID = 0
    private var wakeHandlers: [() -> Void] = []
    private let posted = Mutex<[@Sendable () -> Void]>([])

    /// The thread that made the loop, which alone may run it and touch its sources and timers.
    private let owner = pthread_self()

    public init(wakeup: Wakeup = Wakeup()) {
        self.wakeup = wakeup
    }

    /// Traps in debug builds when called off the loop's thread (as swift-nio's `assertInEventLoop`).
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(pthread_equal(owner, pthread_self()) != 0, "EventLoop used off its thread", file: file, line: line)
    }

    // MARK: Any thread

    /// Runs `work` on the loop's thread, after what was posted before it.
    public func post(_ work: @escaping @Sendable () -> Void) {
        posted.withLock { $0.append(work) }
        wakeup.wake()
    }

    /// Makes the loop look again at what its sources want (a queue that became non-empty) and run its wake
    /// handlers.
    public func wake() {
        wakeup.wake()
    }

    // MARK: The loop's thread

    /// Calls `handler` with what poll found each time `descriptor` is ready for what `interest` says (plus
    /// hang-ups and errors, which poll always reports). The owner removes the source before closing the descriptor.
    @discardableResult
    public func watch(
        _ descriptor: Int32, interest: @escaping () -> Events = { .readable }, _ handler: @escaping (Events) -> Void
    ) -> SourceID {
        assertInLoop()
        nextID += 1
        sources.append(Source(id: nextID, descriptor: descriptor, interest: interest, handler: handler))
        return SourceID(value: nextID)
    }

    public func remove(_ source: SourceID) {
        assertInLoop()
        for entry in sources where entry.id == source.value { entry.removed = true }
        sources.removeAll { $0.id == source.value }
    }

    /// Calls `handler` every `milliseconds`, first after one period, until cancelled.
    @discardableResult
    public func every(milliseconds: UInt64, _ handler: @escaping () -> Void) -> TimerID {
        addTimer(after: milliseconds, period: max(1, milliseconds), handler)
    }

    /// Calls `handler` once, after `milliseconds`.
    @discardableResult
    public func after(milliseconds: UInt64, _ handler: @escaping () -> Void) -> TimerID {
        addTimer(after: milliseconds, period: 0, handler)
    }

    public func cancel(_ timer: TimerID) {
        assertInLoop()
        timers.removeAll { $0.id == timer.value }
    }

    /// Called after every wake-up of the pipe: signals, `wake`, a quit request.
    public func onWake(_ handler: @escaping () -> Void) {
        assertInLoop()
        wakeHandlers.append(handler)
    }

    /// Runs until `done` is true, checked before each wait.
    public func run(until done: () -> Bool) {
        assertInLoop()
        while !done() { runOnce() }
    }

    /// Waits once, for at most `timeout` milliseconds (forever when negative) or the next timer, and dispatches
    /// what is ready: posted work and wake handlers first, then each ready source, then the timers due.
    public func runOnce(timeout: Int32 = -1) {
        assertInLoop()
        let now = Clock.milliseconds()
        var wait = timeout
        if let due = timers.map(\.due).min() {
            let untilDue = due > now ? Int32(clamping: due - now) : 0
            wait = wait < 0 ? untilDue : min(wait, untilDue)
        }
        if posted.withLock({ !$0.isEmpty }) { wait = 0 }

        let active = sources.filter { !$0.dispatching }
        var fds = [pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        fds.reserveCapacity(active.count + 1)
        for source in active {
            fds.append(pollfd(fd: source.descriptor, events: source.interest().rawValue, revents: 0))
        }
        let ready = retryingInterrupts { poll(&fds, nfds_t(fds.count), wait) }

        // A signal interrupts poll after writing to the pipe: the wake handlers see it either way.
        if fds[0].revents != 0 || ready.isFailure {
            wakeup.drain()
            runPosted()
            for handler in wakeHandlers { handler() }
        } else {
            runPosted()
        }
        if case .success(let count) = ready, count > 0 {
            for (index, source) in active.enumerated() {
                let revents = Events(rawValue: fds[index + 1].revents)
                guard !revents.isEmpty, !source.removed else { continue }
                source.dispatching = true
                source.handler(revents)
                source.dispatching = false
            }
        }
        fireTimers()
    }

    private func runPosted() {
        let work = posted.withLock { work in
            defer { work.removeAll() }
            return work
        }
        for item in work { item() }
    }

    private func addTimer(after milliseconds: UInt64, period: UInt64, _ handler: @escaping () -> Void) -> TimerID {
        assertInLoop()
        nextID += 1
        timers.append(Timer(id: nextID, due: Clock.milliseconds() + milliseconds, period: period, handler: handler))
        return TimerID(value: nextID)
    }

    private func fireTimers() {
        let now = Clock.milliseconds()
        // Oldest first: on a busy machine several fall due in one wait.
        let due = timers.filter { $0.due <= now }.sorted { $0.due < $1.due }
        guard !due.isEmpty else { return }
        for timer in due {
            // A handler may cancel its own timer or others: each is looked up again before it runs.
            guard let index = timers.firstIndex(where: { $0.id == timer.id }) else { continue }
            if timer.period == 0 {
                timers.remove(at: index)
            } else {
                // Late timers are not run twice to catch up: the next one is a period from now.
                timers[index].due = now + timer.period
            }
            timer.handler()
        }
    }
}

extension Result {
    fileprivate var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
