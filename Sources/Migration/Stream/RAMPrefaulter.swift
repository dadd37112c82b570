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

    /// Where the loader is, for the faulting thread.
    private final class Marks: Sendable {
        /// Regions below this are to be faulted in.
        let target = Atomic<Int>(0)
        /// The region the loader writes now: the thread never faults behind it.
        let loaderRegion = Atomic<Int>(0)
    }

    private let ram: GuestRAM
    private let marks = Marks()
    /// The faulting thread, once started; each job is a wake-up to look at `marks` again.
    private var worker: WorkerThread<Void>?
    /// The thread could not start or the kernel cannot populate: the loader faults its own pages, as before.
    private var disabled = false
    private var region = -1
    private var pagesInRegion = 0

    init(ram: GuestRAM) {
        self.ram = ram
    }

    deinit {
        stop()
    }

    private static func fault(_ ram: GuestRAM, _ marks: Marks, _ worker: WorkerThread<Void>) {
        var next = 0
        worker.forEach { _ in
            let goal = marks.target.load(ordering: .acquiring)
            // A stream that went back (a later pass) starts again from the loader.
            if next > goal { next = 0 }
            while next < goal, !worker.isStopping {
                // Never the loader's region nor the one it enters next: a fault of the loader's own on a
                // region being faulted here zeroes a second 2 MiB page, and one of the two is thrown away.
                // A thread that fell behind skips ahead and leaves those to the loader.
                let loader = marks.loaderRegion.load(ordering: .relaxed)
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
        if worker == nil {
            worker = WorkerThread(capacity: 1) { [ram, marks] in RAMPrefaulter.fault(ram, marks, $0) }
            guard worker != nil else {
                disabled = true
                return
            }
        }
        marks.loaderRegion.store(r, ordering: .relaxed)
        marks.target.store(r + 1 + RAMPrefaulter.lookahead, ordering: .releasing)
        // A wake-up still queued reads the new target: one is enough.
        worker?.submit((), waiting: false)
    }

    /// Ends the thread and joins it: no fault is taken, and the thread holds nothing, once this returns. Idempotent.
    func stop() {
        worker?.stop()
        worker = nil
    }
}
