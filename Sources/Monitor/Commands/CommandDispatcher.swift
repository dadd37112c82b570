import HMP
import Synchronization

/// Runs typed lines against the backend. With the built-in machine one command runs at a time, whichever monitor
/// it came from, as QEMU runs every HMP command under the big lock; a QEMU behind QMP serialises its own, and a
/// command that waits for it lets the loop run other monitors' commands meanwhile.
final class CommandDispatcher: Sendable {
    let table: CommandTable<CommandHandler>
    let backend: any MonitorBackend
    let hub: MonitorHub
    private let lock = Mutex(())

    /// What every monitor says first: which hmp, and which machine it drives.
    let banner: String
    /// The built-in machine's banner.
    static let localBanner =
        "hmp \(InfoCommands.hmpVersion) monitor (QEMU \(InfoCommands.qemuVersion) HMP) - type 'help' for more information"
    /// What every monitor shows before each line, as QEMU's.
    static let prompt = "(qemu) "

    init(
        table: CommandTable<CommandHandler>, backend: any MonitorBackend, hub: MonitorHub,
        banner: String = CommandDispatcher.localBanner
    ) {
        self.table = table
        self.backend = backend
        self.hub = hub
        self.banner = banner
    }

    /// Runs `body` under the command lock, as one command: QMP's commands share it with HMP's.
    func withCommandLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        guard backend.needsCommandLock else { return try body() }
        return try lock.withLock { _ throws(E) -> T in try body() }
    }

    /// Who runs `line`: nil for the table's handlers, else the output of the machine's own monitor, which runs
    /// the rows marked `.qemuMonitor` and every command the table does not have (info qtree, x, device_add...).
    private func runOnMachineMonitor(_ line: String) -> String? {
        if let row = table.row(for: line) {
            guard row.whenAttached == .qemuMonitor else { return nil }
        } else if line.allSatisfy(\.isWhitespace) {
            return nil
        }
        return backend.humanMonitorCommand(line)
    }

    /// Runs one line; what is left to do (a synchronous migration to wait for) is the front end's, which decides
    /// what waiting looks like: the status line, QEMU's `Completed N %` lines, or going on detached.
    @discardableResult
    func execute(_ line: String, in session: MonitorSession) -> CommandOutcome {
        if let output = withCommandLock({ runOnMachineMonitor(line) }) {
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
        for warning in parsed.warnings { session.print(warning) }
        let invocation = CommandInvocation(arguments: parsed.arguments, backend: backend, hub: hub, session: session)
        // The wait, if any, is outside the lock, so that other monitors can still `migrate_cancel` it.
        return withCommandLock { () -> CommandOutcome in
            do throws(CommandError) {
                return try handler(invocation)
            } catch {
                // A QMP peer's error reply wrote the message: its control characters must not reach a terminal.
                session.print("Error: \(TerminalSafeText.multiLine(error.message))")
                return .done
            }
        }
    }
}
