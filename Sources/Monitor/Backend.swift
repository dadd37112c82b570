import Machine
import Migration
import Glibc
import Platform
import Synchronization

/// The machine a monitor drives, with the migration settings that belong to it. Commands from every monitor run
/// one at a time (`CommandDispatcher` holds its lock), so this state needs no lock of its own.
final class Backend: @unchecked Sendable {
    let machine: Machine
    let migration: MigrationState
    private let quitRequested = Atomic<Bool>(false)
    private let status = Atomic<Int32>(0)
    private let wakeup: Wakeup
    /// Every monitor connected now, for lines that no command asked for (a detached migration's end).
    private let sessions = Mutex<[MonitorSession]>([])

    init(machine: Machine, wakeup: Wakeup) {
        self.machine = machine
        self.wakeup = wakeup
        migration = MigrationState(incomingURI: machine.configuration.incoming)
    }

    /// Listens for the incoming migration. Its progress lines go to stdout as QEMU's do; a failed load is
    /// reported on stderr and ends hmp with status 1, as QEMU exits, and the guest never runs.
    func startIncoming(uri: String) throws(MigrationError) {
        try migration.startIncoming(
            uri: uri, machine: machine, descriptors: { [weak self] in self?.takeDescriptor(named: $0) },
            report: { line in
                let ending = line.hasPrefix("Completed") && !line.hasPrefix("Completed 100 %") ? "\r" : "\n"
                try? FileIO.writeAll(1, line + ending)
            },
            onFinish: { [weak self] error in
                guard let error, let self else { return }
                for line in error.context + [error.message] { FileIO.reportError(line) }
                FileIO.reportError("load of migration failed: \(error.message)")
                self.requestQuit(status: 1)
            })
    }

    /// Descriptors that `getfd` named, for `migrate fd:NAME` (which takes and owns the one it uses).
    private let namedDescriptors = Mutex<[String: Int32]>([:])

    func name(descriptor: Int32, as name: String) {
        let previous = namedDescriptors.withLock { $0.updateValue(descriptor, forKey: name) }
        if let previous { close(previous) }
    }

    func takeDescriptor(named name: String) -> Int32? {
        namedDescriptors.withLock { $0.removeValue(forKey: name) }
    }

    func attach(_ session: MonitorSession) {
        sessions.withLock { $0.append(session) }
    }

    func detach(_ session: MonitorSession) {
        sessions.withLock { $0.removeAll { $0 === session } }
    }

    /// Prints a line no command asked for on every monitor: `terminal` above the line being edited at a terminal,
    /// `plain` (if any) on pipes and sockets, where scripts read the output and QEMU reports only failures.
    func broadcast(terminal: String, plain: String?) {
        for session in sessions.withLock({ $0 }) {
            if session.isTerminal {
                session.notify(terminal)
            } else if let plain {
                session.notify(plain)
            }
        }
    }

    /// The status hmp exits with: 0, or 1 after a failed incoming migration, as QEMU's.
    var exitStatus: Int32 { status.load(ordering: .relaxed) }

    func requestQuit(status: Int32) {
        self.status.store(status, ordering: .relaxed)
        requestQuit()
    }

    /// Asks the application to end: every monitor stops reading and the main thread shuts the machine down.
    func requestQuit() {
        quitRequested.store(true, ordering: .sequentiallyConsistent)
        wakeup.wake()
    }

    var isQuitting: Bool { quitRequested.load(ordering: .sequentiallyConsistent) }
}
