import HMP
import Synchronization

/// Runs typed lines against the backend. One command runs at a time, whichever monitor it came from, as
/// QEMU runs every HMP command under the big lock.
final class CommandDispatcher: Sendable {
    let table: CommandTable<CommandHandler>
    let backend: any MonitorBackend
    let hub: MonitorHub
    private let lock = Mutex(())

    /// What every monitor says first: which hmp, and which machine it drives.
    let banner: String

    init(
        table: CommandTable<CommandHandler>, backend: any MonitorBackend, hub: MonitorHub,
        banner: String = MonitorApplication.banner
    ) {
        self.table = table
        self.backend = backend
        self.hub = hub
        self.banner = banner
    }

    /// Runs `body` under the command lock, as one command: QMP's commands share it with HMP's.
    func withCommandLock<T: Sendable, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try lock.withLock { _ throws(E) -> T in try body() }
    }

    /// Runs one line; what is left to do (a synchronous migration to wait for) is the front end's, which decides
    /// what waiting looks like: the status line, QEMU's `Completed N %` lines, or going on detached.
    @discardableResult
    func execute(_ line: String, in session: MonitorSession) -> CommandOutcome {
        // A QEMU behind QMP runs the lines QMP has no command for itself (info qtree, x, device_add, ...).
        if let output = lock.withLock({ _ in backend.humanMonitorCommand(line) }) {
            session.write(output)
            return .done
        }
        let parsed: ParsedCommand<CommandHandler>?
        do throws(HMPError) {
            parsed = try table.parse(line)
        } catch {
            for text in error.lines { session.print(text) }
            return .done
        }
        guard let parsed, let handler = parsed.definition.handler else { return .done }
        let invocation = CommandInvocation(arguments: parsed.arguments, backend: backend, hub: hub, session: session)
        // The wait, if any, is outside the lock, so that other monitors can still `migrate_cancel` it.
        return lock.withLock { _ -> CommandOutcome in
            do throws(CommandError) {
                return try handler(invocation)
            } catch {
                session.print("Error: \(error.message)")
                return .done
            }
        }
    }
}
