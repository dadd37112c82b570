import Glibc

/// A counting semaphore for hand-offs between the engine's pthreads (POSIX sem_t): `wait` blocks the thread, which
/// those threads may do, unlike tasks on Swift's cooperative pool.
public final class ThreadSemaphore: Sendable {
    // Made in init, destroyed in deinit; in between only sem_post/sem_wait/sem_trywait touch it, which POSIX makes
    // thread-safe.
    private nonisolated(unsafe) let sem: UnsafeMutablePointer<sem_t>

    public init(_ value: Int = 0) {
        sem = .allocate(capacity: 1)
        sem_init(sem, 0, UInt32(max(0, value)))
    }

    deinit {
        sem_destroy(sem)
        sem.deallocate()
    }

    public func signal() { sem_post(sem) }

    public func wait() {
        while sem_wait(sem) != 0 {}
    }

    /// Takes one without waiting; false when there is none.
    public func tryWait() -> Bool { sem_trywait(sem) == 0 }
}
