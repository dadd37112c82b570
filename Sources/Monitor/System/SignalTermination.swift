import Glibc
import Platform
import Synchronization

/// Ends hmp on SIGTERM, SIGHUP and SIGINT, whatever the monitors are doing at that moment: a thread of its own
/// waits for signals, so a monitor busy in a command or a synchronous migration cannot delay or swallow one. It
/// asks the monitors to quit and cancels an outgoing migration (its destination sees the stream fail), as QEMU's
/// main loop does on qemu_system_killed.
final class SignalTermination: Sendable {
    private let hub: MonitorHub
    /// The built-in machine's outgoing migration must not outlive hmp; an attached QEMU's goes on without us.
    private let backend: LocalBackend?
    private let endedBySignal = Atomic<Bool>(false)
    private let reported = Atomic<Bool>(false)
    private let wakeup = Wakeup()

    /// How long the monitors get to wind down after an ending signal before hmp leaves without them (a start-up
    /// still waiting for its `wait=on` socket client, a command stuck in a system call).
    static let graceMilliseconds: UInt64 = 5000

    /// `atTerminal`: a terminal monitor serves stdin, where ^C from the terminal driver is a key, not an ending
    /// signal. If hmp is still there once the grace has passed, the terminal goes back as hmp found it, the report
    /// is printed unless it already was, and hmp exits 0.
    init(hub: MonitorHub, backend: LocalBackend?, atTerminal: Bool) {
        let ending: SignalSet = atTerminal ? .endingAtTerminal : .ending
        let restore = atTerminal ? TerminalMonitor.savedTerminal() : { @Sendable in }
        self.hub = hub
        self.backend = backend
        Signals.wake(wakeup)
        // Made here, so that a signal arriving before the thread runs is still seen.
        let initial = SignalWatch()
        let started = PlatformThread.detach { [self] in
            var watch = initial
            while true {
                wakeup.wait()
                guard !watch.take().isDisjoint(with: ending) else { continue }
                let first = !endedBySignal.exchange(true, ordering: .sequentiallyConsistent)
                hub.requestQuit()
                backend?.cancelMigration()
                if first {
                    PlatformThread.detach { [self] in
                        Clock.sleep(milliseconds: SignalTermination.graceMilliseconds)
                        restore()
                        printReport()
                        _exit(0)
                    }
                }
            }
        }
        if case .failure(let error) = started { FileIO.reportError("signals: \(error)") }
    }

    /// True once an ending signal asked hmp to quit (QMP's SHUTDOWN then says `host-signal`).
    var isEndedBySignal: Bool { endedBySignal.load(ordering: .sequentiallyConsistent) }

    /// Prints QEMU's `terminating on signal 15 from pid 1234 (kill)` on stderr once a signal has ended hmp, and
    /// only once, whether the monitors wound down in time or the grace ran out.
    func printReport() {
        guard endedBySignal.load(ordering: .sequentiallyConsistent),
            !reported.exchange(true, ordering: .sequentiallyConsistent),
            let report = Signals.terminationReport()
        else { return }
        FileIO.reportError(report)
    }
}
