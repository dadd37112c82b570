// The cost of one dirty pass of the RAM handler, for bench/migration.py: a mostly-zero guest of each size in
// GiB given on the command line; after the first pass, pages written at random, then the pass that sends them
// (sync, scan, records) timed into /dev/null, in this thread's CPU time (the machine is shared: wall time would
// measure the neighbours). Built by bench/migration.py against the release build's modules; prints one line per
// size: `SIZE_GIB DIRTY_PAGES PASS_NS EMPTY_NS FIXED_NS`, each the best of 7 passes: 1 % of the pages dirty, none
// dirty (what a pass costs for the size alone: the bitmaps' sync and scan), and 2621 dirty (1 % of 1 GiB, the
// same work at every size: what is left of a difference is the memory hierarchy, page walks and cache misses
// over a bigger guest, not the handler).
import Glibc
import Machine
import Migration

func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

// A fixed seed: every size gets the same kind of scatter, and runs compare.
var state: UInt64 = 0x9E37_79B9_7F4A_7C15
func random() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
}

let null = open("/dev/null", O_WRONLY)
for argument in CommandLine.arguments.dropFirst() {
    guard let gib = UInt64(argument) else { continue }
    let ram = try GuestRAM(size: gib << 30)
    // 4 KiB pages: scattered 1 % would otherwise make every 2 MiB huge page resident.
    ram.withUnsafeBytes { _ = madvise(UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count, MADV_NOHUGEPAGE) }
    let handler = RAMSaveHandler(ram: ram, statistics: MigrationStreamStatistics())
    let file = QEMUFileWriter(fileDescriptor: null)
    try handler.setup(file)
    while try !handler.iterate(file, budget: 64 << 20) {}
    try file.flush()
    func bestPass(dirtying dirty: Int) throws -> UInt64 {
        var best = UInt64.max
        for _ in 0..<7 {
            for _ in 0..<dirty {
                let page = Int(random() % UInt64(ram.pageCount))
                try ram.write(at: UInt64(page) << 12, bytes: [1])
            }
            let start = nanoseconds()
            handler.syncDirty()
            while try !handler.iterate(file, budget: 64 << 20) {}
            try file.flush()
            best = min(best, nanoseconds() - start)
        }
        return best
    }
    let dirty = ram.pageCount / 100
    let pass = try bestPass(dirtying: dirty)
    let empty = try bestPass(dirtying: 0)
    let fixed = try bestPass(dirtying: (1 << 18) / 100)
    print(gib, dirty, pass, empty, fixed)
}
