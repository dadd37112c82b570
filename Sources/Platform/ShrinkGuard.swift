import Glibc
import Synchronization

/// Keeps a private file mapping safe when its file shrinks: touching a page past the file's new end raises SIGBUS,
/// which would end the process. For a guarded mapping the handler puts a zero page of anonymous memory in the
/// faulting page's place and lets the access go on, so such pages read as zeros (as a hole reads) and can be
/// written; it counts them, for the owner to say so. A SIGBUS anywhere else keeps its default action.
///
/// QEMU's `memory-backend-file,share=off` maps the file the same way and dies on a shrinking file; hmp's guest
/// goes on.
public enum ShrinkGuard {
    /// Guards `count` bytes from `base`; at most `capacity` mappings at a time, false when full.
    @discardableResult
    public static func guardMapping(_ base: UnsafeMutableRawPointer, count: Int) -> Bool {
        registration.withLock { _ in
            installHandler()
            for slot in 0..<capacity where starts[slot].load(ordering: .acquiring) == 0 {
                lengths[slot].store(count, ordering: .releasing)
                starts[slot].store(Int(bitPattern: base), ordering: .releasing)
                return true
            }
            return false
        }
    }

    /// Stops guarding the mapping at `base` (before it is unmapped).
    public static func unguard(_ base: UnsafeMutableRawPointer) {
        registration.withLock { _ in
            for slot in 0..<capacity where starts[slot].load(ordering: .acquiring) == Int(bitPattern: base) {
                starts[slot].store(0, ordering: .releasing)
            }
        }
    }

    /// Pages replaced by zeros so far, in every guarded mapping.
    public static var replacedPages: Int { replaced.load(ordering: .acquiring) }

    private static let capacity = 8
    private static let registration = Mutex(false)

    private static func installHandler() {
        guard !registration_installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { _, info, _ in
            let address = Int(bitPattern: info?.pointee._sifields._sigfault.si_addr)
            for slot in 0..<ShrinkGuard.capacity {
                let start = starts[slot].load(ordering: .acquiring)
                guard start != 0, address >= start, address < start + lengths[slot].load(ordering: .acquiring)
                else { continue }
                let page = UnsafeMutableRawPointer(bitPattern: address & ~4095)
                // mmap is a plain system call on Linux, safe in a handler: the access is retried on return.
                let mapped = mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                if mapped != MAP_FAILED {
                    replaced.add(1, ordering: .relaxed)
                    return
                }
            }
            // Not ours: the default action, on the same fault again.
            signal(SIGBUS, SIG_DFL)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_SIGINFO
        sigaction(SIGBUS, &action, nil)
    }
}

private let registration_installed = Atomic<Bool>(false)
private let replaced = Atomic<Int>(0)
// Written under the registration lock, read by the handler: plain atomics, no allocation after start.
nonisolated(unsafe) private let starts = zeroedAtomics()
nonisolated(unsafe) private let lengths = zeroedAtomics()

private func zeroedAtomics() -> UnsafeMutablePointer<Atomic<Int>> {
    let pointer = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 8)
    for index in 0..<8 { (pointer + index).initialize(to: Atomic(0)) }
    return pointer
}
