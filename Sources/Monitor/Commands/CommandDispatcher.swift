import HMP
import Synchronization

/// Runs typed lines against the backend. One command runs at a time, whichever monitor it came from, as
/// QEMU runs every HMP command under the big lock.
final class CommandDispatcher: Sendable {
    let table: CommandTable<CommandHandler>
    let backend: Backend
    private let lock = Mutex(())

    init(table: CommandTable<CommandHandler>, backend: Backend) {
        self.table = table
        self.backend = backend
    }

    func execute(_ line: String, in session: MonitorSession) {
        let parsed: ParsedCommand<CommandHandler>?
        do throws(HMPError) {
            parsed = try table.parse(line)
        } catch {
            for text in error.lines { session.print(text) }
            return
        }
        guard let parsed, let handler = parsed.definition.handler else { return }
        lock.withLock { _ in
            do throws(CommandError) {
                try handler(CommandInvocation(arguments: parsed.arguments, backend: backend, session: session))
            } catch {
                session.print("Error: \(error.message)")
            }
        }
        if let (migration, watch) = session.suspension {
            session.suspension = nil
            if let waiter = session.migrationWaiter {
                waiter(migration, watch)
            } else {
                SynchronousMigration(migration: migration, watch: watch, session: session).wait()
            }
        }
    }
}
