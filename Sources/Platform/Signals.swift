import Glibc
import Synchronization

/// The signals hmp acts on.
public struct SignalSet: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// SIGINT sent by a process (`kill -INT`).
    public static let interrupt = SignalSet(rawValue: 1 << 0)
    public static let terminate = SignalSet(rawValue: 1 << 1)
    public static let hangup = SignalSet(rawValue: 1 << 2)
    public static let resize = SignalSet(rawValue: 1 << 3)
    /// SIGINT from the terminal driver: ^C typed at a terminal whose ISIG is on (libedit keeps it on), which the
    /// terminal monitor takes as the key that abandons a line rather than as a request to end.
    public static let typedInterrupt = SignalSet(rawValue: 1 << 4)

    /// The signals that end hmp where no terminal monitor reads ^C as a key.
    public static let ending: SignalSet = [.interrupt, .typedInterrupt, .terminate, .hangup]
    /// The signals that end hmp even at the terminal monitor.
    public static let endingAtTerminal: SignalSet = [.interrupt, .terminate, .hangup]
}

/// The one place that records signals. Handlers only count and write a byte to every registered wake-up pipe;
/// each consumer reads through a `SignalWatch` of its own, so no consumer can swallow another's signal.
public enum Signals {
    /// Installs the handlers (once; later calls do nothing), ignores SIGPIPE so that a peer that went away is a
    /// write error rather than a death, and unblocks what a parent may have blocked (Foundation's Process does).
    public static func install() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            for number in handled { installHandler(number) }
            ignoreBrokenPipes()
            var set = sigset_t()
            sigemptyset(&set)
            for number in handled { sigaddset(&set, number) }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }
    }

    /// As QEMU from the start (os_setup_early_signal_handling): writing to a peer that went away fails with EPIPE
    /// instead of killing the process. The migration's streams rely on it too; spawned commands get the default
    /// action back (ChildProcess).
    public static func ignoreBrokenPipes() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// Every signal from now on also wakes `wakeup`. Registrations last for the process's life.
    public static func wake(_ wakeup: Wakeup) {
        registration.withLock { _ in
            let count = wakeCount.load(ordering: .acquiring)
            guard count < wakeCapacity else { return }
            wakeDescriptors[count] = wakeup.writeDescriptor
            wakeCount.store(count + 1, ordering: .releasing)
        }
    }

    /// QEMU's words for the signal that ended it, `terminating on signal 15 from pid 1234 (kill)`, or nil when no
    /// ending signal has arrived.
    public static func terminationReport() -> String? {
        let number = lastEndingSignal.load(ordering: .acquiring)
        guard number != 0 else { return nil }
        let pid = lastSenderPID.load(ordering: .acquiring)
        // A ^C typed at a terminal comes from the kernel (pid 0): QEMU then leaves the sender out.
        guard pid > 0 else { return "terminating on signal \(number)" }
        let name = processName(pid) ?? "<unknown process>"
        return "terminating on signal \(number) from pid \(pid) (\(name))"
    }

    static func count(_ signal: SignalSet) -> UInt64 {
        switch signal {
        case .interrupt: interruptCount.load(ordering: .acquiring)
        case .terminate: terminateCount.load(ordering: .acquiring)
        case .hangup: hangupCount.load(ordering: .acquiring)
        case .typedInterrupt: typedInterruptCount.load(ordering: .acquiring)
        default: resizeCount.load(ordering: .acquiring)
        }
    }

    private static let handled = [SIGINT, SIGTERM, SIGHUP, SIGWINCH]
    private static let installed = Mutex(false)
    private static let registration = Mutex(())

    private static func installHandler(_ number: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { number, info, _ in
            // si_code > 0 is the kernel's own (SI_KERNEL for the terminal's ^C); SI_USER, SI_QUEUE, SI_TKILL are
            // all <= 0 and carry the sender's pid.
            let fromProcess = info.map { $0.pointee.si_code <= 0 } ?? false
            switch number {
            case SIGINT where !fromProcess: typedInterruptCount.add(1, ordering: .releasing)
            case SIGINT: interruptCount.add(1, ordering: .releasing)
            case SIGTERM: terminateCount.add(1, ordering: .releasing)
            case SIGHUP: hangupCount.add(1, ordering: .releasing)
            default: resizeCount.add(1, ordering: .releasing)
            }
            if number != SIGWINCH {
                lastSenderPID.store(fromProcess ? info!.pointee._sifields._kill.si_pid : 0, ordering: .releasing)
                lastEndingSignal.store(number, ordering: .releasing)
            }
            let saved = errno
            var byte: UInt8 = 1
            for index in 0..<wakeCount.load(ordering: .acquiring) {
                _ = write(wakeDescriptors[index], &byte, 1)
            }
            errno = saved
        }
        sigemptyset(&action.sa_mask)
        // No SA_RESTART: a blocked poll or read returns EINTR and its loop looks at what arrived.
        action.sa_flags = SA_SIGINFO
        sigaction(number, &action, nil)
    }

    private static func processName(_ pid: pid_t) -> String? {
        let fd = open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self).trimmingSuffix("\n")
    }
}

/// One consumer's view of the signals: `take` returns those that arrived since this watch last looked.
public struct SignalWatch: Sendable {
    private var seen: [UInt64]
    private static let kinds: [SignalSet] = [.interrupt, .terminate, .hangup, .resize, .typedInterrupt]

    /// A watch that sees only signals arriving after it is made.
    public init() {
        seen = SignalWatch.kinds.map(Signals.count)
    }

    public mutating func take() -> SignalSet {
        var arrived: SignalSet = []
        for (index, kind) in SignalWatch.kinds.enumerated() {
            let count = Signals.count(kind)
            if count != seen[index] {
                arrived.insert(kind)
                seen[index] = count
            }
        }
        return arrived
    }
}

private let interruptCount = Atomic<UInt64>(0)
private let terminateCount = Atomic<UInt64>(0)
private let hangupCount = Atomic<UInt64>(0)
private let resizeCount = Atomic<UInt64>(0)
private let typedInterruptCount = Atomic<UInt64>(0)
private let lastEndingSignal = Atomic<Int32>(0)
private let lastSenderPID = Atomic<Int32>(0)
private let wakeCapacity = 16
private let wakeCount = Atomic<Int>(0)
// Written only under `registration`, each slot before `wakeCount` publishes it; the handler reads published slots.
nonisolated(unsafe) private let wakeDescriptors = UnsafeMutablePointer<Int32>.allocate(capacity: wakeCapacity)

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
