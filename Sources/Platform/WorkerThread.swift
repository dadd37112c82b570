import Glibc
import Synchronization

/// A thread that runs the jobs one other thread hands it, in order: work done behind that thread (the destination's
/// page faults, its disk writes), with no allocation per job. `submit` waits while `capacity` jobs are queued, so a
/// producer is held to the worker's pace, or gives up, for a job that is only a wake-up (one already queued does as
/// well). A job keeps its place until it has run.
///
/// One producer: `submit` and `stop` come from the thread that made the worker. The owner calls `stop`
/// (the running thread holds the worker, so it is never freed before).
public final class WorkerThread<Job: Sendable>: Sendable {
    /// Made with room for `capacity` jobs, so that queueing never allocates.
    private let jobs: Mutex<[Job]>
    // The semaphores are made in init and destroyed in deinit, which runs once the thread has let go of the
    // worker; between the two only sem_post/sem_wait touch them, which POSIX makes thread-safe.
    /// Posted per job queued, and once by `stop`.
    private nonisolated(unsafe) let queued: UnsafeMutablePointer<sem_t>
    /// Free places: posted per job run.
    private nonisolated(unsafe) let free: UnsafeMutablePointer<sem_t>
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    /// Starts `body` on a new thread, or returns nil when no thread can start. `body` runs the jobs with
    /// `forEach`, keeping whatever state it needs between them.
    public init?(capacity: Int, body: @escaping @Sendable (WorkerThread) -> Void) {
        var room: [Job] = []
        room.reserveCapacity(max(1, capacity))
        jobs = Mutex(room)
        queued = .allocate(capacity: 1)
        free = .allocate(capacity: 1)
        sem_init(queued, 0, 0)
        sem_init(free, 0, UInt32(max(1, capacity)))
        guard case .success(let started) = PlatformThread.start({ [self] in body(self) }) else { return nil }
        thread.withLock { $0 = started }
    }

    deinit {
        sem_destroy(queued)
        sem_destroy(free)
        queued.deallocate()
        free.deallocate()
    }

    /// Queues `job`, waiting while every place is taken; with `waiting` false, only if a place is free at once.
    @discardableResult
    public func submit(_ job: Job, waiting: Bool = true) -> Bool {
        if waiting {
            while sem_wait(free) != 0 {}
        } else if sem_trywait(free) != 0 {
            return false
        }
        jobs.withLock { $0.append(job) }
        sem_post(queued)
        return true
    }

    /// True once `stop` was called: a long job may end early.
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// On the worker's thread: runs `handle` on each job in turn until `stop`, after the jobs queued before it.
    public func forEach(_ handle: (Job) -> Void) {
        while true {
            while sem_wait(queued) != 0 {}
            // Each post follows its append, so no job means stop's post.
            guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return }
            handle(job)
            sem_post(free)
        }
    }

    /// Lets the queued jobs run, then ends the thread and joins it. Idempotent.
    public func stop() {
        guard let running = thread.withLock({ $0.take() }) else { return }
        stopping.store(true, ordering: .releasing)
        sem_post(queued)
        pthread_join(running, nil)
    }
}
