import Glibc
import Platform
import HMP

/// The monitor a person types at: libedit line editing, completion, history kept across runs. It runs the event
/// loop while it waits for keys, so the terminal is one source among the others.
final class TerminalMonitor {
    let session: MonitorSession
    let dispatcher: CommandDispatcher
    /// This monitor's own view of the signals: ^C from the terminal and resizes. Ending signals are
    /// SignalTermination's, which asks every monitor to quit.
    private var signals = SignalWatch()
    private let editor: LineEditor
    private let keys: TerminalKeys

    init(dispatcher: CommandDispatcher) {
        self.dispatcher = dispatcher
        let loop = dispatcher.hub.loop
        let history = CommandHistory(file: CommandHistory.defaultFile)
        session = MonitorSession(output: 1, history: history, isTerminal: true, wakeup: loop.wakeup)
        keys = TerminalKeys(input: 0, loop: loop)
        editor = LineEditor(prompt: CommandDispatcher.prompt, keys: keys, loop: loop, history: history.entries)
        let source = MachineCompletionSource(backend: dispatcher.backend)
        editor.complete = { [table = dispatcher.table] line in table.complete(line, source: source) }
        editor.onWake = { [unowned self] in self.handleWake() }
    }

    /// Whether stdin and stdout are a terminal, which `-monitor stdio` then edits with libedit.
    static var isAvailable: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// What puts the terminal back as it is now (its modes, the whole screen scrolling), for an hmp that leaves
    /// without the monitor winding down.
    static func savedTerminal() -> @Sendable () -> Void {
        var saved = termios()
        guard tcgetattr(0, &saved) == 0 else { return {} }
        return { [saved] in
            var modes = saved
            tcsetattr(0, TCSANOW, &modes)
            try? FileIO.writeAll(1, Terminfo.current.resetScrollRegion(rows: Terminfo.size().rows))
        }
    }

    /// Serves the terminal until Ctrl-D, quit, or the terminal's end; the loop goes on serving the other monitors.
    func run() {
        dispatcher.hub.attach(session)
        defer {
            dispatcher.hub.detach(session)
            keys.stop()
        }
        session.print(dispatcher.banner)
        while !dispatcher.hub.isQuitting {
            switch editor.readLine() {
            case .line(let typed):
                // The line is a C string to QEMU's readline: a NUL byte ends it.
                let line = typed.firstIndex(of: "\0").map { String(typed[..<$0]) } ?? typed
                if !line.allSatisfy(\.isWhitespace) {
                    session.history.add(line)
                    editor.addToHistory(line)
                }
                if case .waitForMigration(let migration, let watch) = dispatcher.execute(line, in: session) {
                    MigrationStatusView(
                        migration: migration, watch: watch, session: session, hub: dispatcher.hub,
                        runState: { [backend = dispatcher.backend] in backend.runState },
                        loop: dispatcher.hub.loop, keys: keys
                    ).run()
                }
            case .interrupted:
                continue
            case .endOfInput:
                // Ctrl-D on an empty line: leave as `quit` does, on a line of its own.
                session.write("\n")
                dispatcher.hub.requestQuit()
            case .stopped:
                session.write("\n")
                return
            }
        }
    }

    private func handleWake() -> LineEditor.WakeAction {
        let events = signals.take()
        if dispatcher.hub.isQuitting { return .stop }
        if events.contains(.typedInterrupt) { return .interrupt }
        if events.contains(.resize) { return .resize }
        let lines = session.takeNotifications()
        if !lines.isEmpty { editor.printAbove(lines) }
        return .keepReading
    }
}
