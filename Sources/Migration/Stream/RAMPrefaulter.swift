import Glibc
import Machine
import Platform
import Synchronization

/// The destination's page faults, taken on a second thread ahead of the loader. Writing a page of fresh guest RAM
/// faults it in and has the kernel zero it (2 MiB at a time with transparent huge pages) before the page's bytes
/// are copied; on a VM whose free memory goes back to its host this costs more than receiving the page. While the
/// stream's PAGE records are dense, the thread faults in the regions from the second after the loader's up to
/// `lookahead` beyond it, so that the loader only copies.
///
/// A region is faulted only once `denseAfter` PAGE records arrived in the one before it, so RAM still grows only
/// with what arrives: at most `lookahead` regions beyond the last dense one, none for a guest of zero pages.
/// Owned by the loading thread; `stop` (or deinit) joins the faulting thread.
final class RAMPrefaulter {
    static let regionShift = 21
    static let lookahead = 8
    static let denseAfter = 32

    /// What the faulting thread shares with the loader.
    ///
    /// `@unchecked Sendable`: the semaphore is allocated and initialised in init, destroyed in deinit (after the
    /// thread, which holds a reference, has been joined), and used only through sem_post/sem_wait, which are
    /// thread-safe; the rest is atomics and the Sendable GuestRAM.
    private final class Shared: @unchecked Sendable {
        let ram: GuestRAM
        /// Regions below this are to be faulted in.
        let target = Atomic<Int>(0)
        /// The region the loader writes now: the thread never faults behind it.
        let loaderRegion = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let wake: UnsafeMutablePointer<sem_t>

        init(ram: GuestRAM) {
            self.ram = ram
            wake = .allocate(capacity: 1)
            sem_init(wake, 0, 0)
        }

        deinit {
            sem_destroy(wake)
            wake.deallocate()
        }

        func run() {
            var next = 0
            while true {
                while sem_wait(wake) != 0 {}
                if stopping.load(ordering: .acquiring) { break }
                let goal = target.load(ordering: .acquiring)
                // A stream that went back (a later pass) starts again from the loader.
                if next > goal { next = 0 }
                while next < goal, !stopping.load(ordering: .relaxed) {
                    // Never the loader's region nor the one it enters next: a fault of the loader's own on a
                    // region being faulted here zeroes a second 2 MiB page, and one of the two is thrown away.
                    // A thread that fell behind skips ahead and leaves those to the loader.
                    let loader = loaderRegion.load(ordering: .relaxed)
                    if next <= loader + 1 {
                        next = loader + 2
                        continue
                    }
                    let region = 1 << RAMPrefaulter.regionShift
                    guard ram.prefault(offset: next << RAMPrefaulter.regionShift, count: region) else { break }
                    next += 1
                }
            }
        }
    }

    private let shared: Shared
    /// The faulting thread, once started.
    private var thread: pthread_t?
    /// The thread could not start or the kernel cannot populate: the loader faults its own pages, as before.
    private var disabled = false
    private var region = -1
    private var pagesInRegion = 0

    init(ram: GuestRAM) {
        shared = Shared(ram: ram)
    }

    deinit {
        stop()
    }

    /// The loader is about to write the page at `address` from a PAGE record.
    @inline(__always)
    func willWrite(_ address: UInt64) {
        let r = Int(address >> UInt64(RAMPrefaulter.regionShift))
        if r != region {
            region = r
            pagesInRegion = 0
        }
        pagesInRegion += 1
        if pagesInRegion == RAMPrefaulter.denseAfter { dense(r) }
    }

    private func dense(_ r: Int) {
        guard !disabled else { return }
        if thread == nil {
            let shared = shared
            guard case .success(let started) = PlatformThread.start({ shared.run() }) else {
                disabled = true
                return
            }
            thread = started
        }
        shared.loaderRegion.store(r, ordering: .relaxed)
        shared.target.store(r + 1 + RAMPrefaulter.lookahead, ordering: .releasing)
        sem_post(shared.wake)
    }

    /// Ends the thread and joins it: no fault is taken, and the thread holds nothing, once this returns. Idempotent.
    func stop() {
        guard let thread else { return }
        self.thread = nil
        shared.stopping.store(true, ordering: .releasing)
        sem_post(shared.wake)
        pthread_join(thread, nil)
        shared.stopping.store(false, ordering: .releasing)
    }
}
