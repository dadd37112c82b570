import Platform
import Synchronization

/// The application's side of every monitor, apart from the machine: the event loop they all run on, the
/// sessions connected now (for lines no command asked for), and the quit flag, with the status hmp exits with.
final class MonitorHub: Sendable {
    let loop: EventLoop
    private let quitRequested = Atomic<Bool>(false)
    private let status = Atomic<Int32>(0)
    private let sessions = Mutex<[MonitorSession]>([])

    init(loop: EventLoop) {
        self.loop = loop
    }

    func attach(_ session: MonitorSession) {
        sessions.withLock { $0.append(session) }
    }

    func detach(_ session: MonitorSession) {
        sessions.withLock { $0.removeAll { $0 === session } }
    }

    /// Prints a line no command asked for above the line being edited at every terminal monitor; pipes and sockets,
    /// where scripts read the output, get nothing, as from QEMU. `error` (if any) goes to stderr instead when no
    /// monitor is a terminal, as QEMU's error_report writes a detached migration's failure there.
    /// Any thread may call it; the lines are written by the loop, after the command running now has printed.
    func broadcast(terminal: String, error: String? = nil) {
        loop.post { [self] in
            let sessions = sessions.withLock { $0 }
            for session in sessions where session.isTerminal {
                session.notify(terminal)
            }
            if let error, !sessions.contains(where: \.isTerminal) {
                FileIO.reportError(error)
            }
        }
    }

    /// The status hmp exits with: 0, or 1 after a failed incoming migration, as QEMU's.
    var exitStatus: Int32 { status.load(ordering: .sequentiallyConsistent) }
    private let statusChosen = Atomic<Bool>(false)

    /// Ends hmp with `status`, unless an earlier request already chose one: the first reason to end is the
    /// one hmp reports (QEMU gone, then the monitors' own end of input, still exits 1).
    func requestQuit(status: Int32) {
        if !statusChosen.exchange(true, ordering: .sequentiallyConsistent) {
            self.status.store(status, ordering: .sequentiallyConsistent)
        }
        quitRequested.store(true, ordering: .sequentiallyConsistent)
        loop.wake()
    }

    /// Asks the application to end with status 0 (unless a failure chose another first): every monitor stops
    /// reading and the main thread shuts the machine down.
    func requestQuit() {
        requestQuit(status: 0)
    }

    var isQuitting: Bool { quitRequested.load(ordering: .sequentiallyConsistent) }
}
