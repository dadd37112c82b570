import Glibc
import Platform
import HMP
import Migration
public import Machine

/// Runs the monitors over one machine until `quit`, Ctrl-D at the terminal, or SIGTERM.
public final class MonitorApplication {
    public static let version = "0.1.0"
    static let prompt = "(qemu) "
    static var banner: String { "hmp \(version) monitor (QEMU \(InfoCommands.qemuVersion) HMP) - type 'help' for more information" }

    private let endpoint: MonitorEndpoint
    private let wakeup = Wakeup()
    private let signals: SignalEvents
    private let backend: Backend
    private let dispatcher: CommandDispatcher

    public init(machine: Machine, endpoint: MonitorEndpoint) {
        self.endpoint = endpoint
        signals = SignalEvents(wakeup: wakeup)
        backend = Backend(machine: machine, wakeup: wakeup)
        dispatcher = CommandDispatcher(table: hmpCommands, backend: backend)
    }

    /// Serves until quit, then stops the machine; returns the process's exit status.
    public func run() -> Int32 {
        if let incoming = backend.machine.configuration.incoming, incoming != "defer" {
            do throws(MigrationError) {
                try backend.startIncoming(uri: incoming)
            } catch {
                FileIO.reportError("-incoming \(incoming): \(error.message)")
                backend.machine.shutdown()
                return 1
            }
        }
        var socketServer: SocketMonitorServer?
        if case .unixSocket(let path, let wait) = endpoint {
            do {
                let server = try SocketMonitorServer(path: path, dispatcher: dispatcher)
                if wait { server.acceptFirstClient() }
                server.start()
                socketServer = server
            } catch {
                FileIO.reportError("\(error)")
                backend.machine.shutdown()
                return 1
            }
        }
        if endpoint == .stdio {
            if isatty(0) == 1 && isatty(1) == 1 {
                TerminalMonitor(dispatcher: dispatcher, signals: signals, wakeup: wakeup).run()
            } else {
                let session = MonitorSession(output: 1, history: CommandHistory(), isTerminal: false)
                var monitor = PlainMonitor(input: 0, session: session, dispatcher: dispatcher)
                monitor.wakeup = wakeup
                monitor.onWake = { [self] in quitOnSignal() }
                monitor.run()
            }
        }
        // With no monitor left on stdin, the machine runs on until quit from a socket client or a signal.
        while !backend.isQuitting {
            wakeup.wait()
            quitOnSignal()
        }
        backend.machine.shutdown()
        socketServer?.remove()
        return backend.exitStatus
    }

    /// SIGTERM, SIGHUP, or SIGINT where no terminal monitor takes Ctrl-C, end hmp as QEMU ends on them.
    private func quitOnSignal() {
        if !signals.take().isDisjoint(with: [.terminate, .interrupt]) { backend.requestQuit() }
    }

    /// The command table's rows as man page source, so that hmp(1) lists exactly the commands hmp has.
    public static func manPageCommands() -> String {
        ManPageCommands.render(hmpCommands)
    }
}
