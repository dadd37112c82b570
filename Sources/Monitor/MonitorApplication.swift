import Glibc
import Platform
import HMP
public import Machine

/// Runs the monitors over one machine until `quit`, Ctrl-D at the terminal, or SIGTERM, SIGHUP or SIGINT.
public final class MonitorApplication {
    public static let version = "0.1.0"
    static let prompt = "(qemu) "
    static var banner: String { "hmp \(version) monitor (QEMU \(InfoCommands.qemuVersion) HMP) - type 'help' for more information" }

    /// How long an exiting hmp waits for a cancelled outgoing migration to let go of its stream.
    static let cancelGraceMilliseconds: UInt64 = 2000

    private let endpoints: [MonitorEndpoint]
    private let wakeup = Wakeup()
    private let hub: MonitorHub
    private let backend: LocalBackend
    private let dispatcher: CommandDispatcher
    private let atTerminal: Bool
    private let termination: SignalTermination

    /// `endpoints`: every `-monitor`, e.g. the terminal on stdio and a unix socket beside it.
    public init(machine: Machine, endpoints: [MonitorEndpoint]) {
        self.endpoints = endpoints
        Signals.install()
        // The main thread's monitor wakes for every signal too: ^C and resizes at the terminal, quit elsewhere.
        Signals.wake(wakeup)
        let hub = MonitorHub(wakeup: wakeup)
        self.hub = hub
        backend = LocalBackend(machine: machine, endApplication: { hub.requestQuit(status: $0) })
        dispatcher = CommandDispatcher(table: hmpCommands, backend: backend, hub: hub)
        atTerminal = endpoints.contains(.stdio) && isatty(0) == 1 && isatty(1) == 1
        var saved = termios()
        let terminal = atTerminal && tcgetattr(0, &saved) == 0 ? saved : nil
        termination = SignalTermination(hub: hub, backend: backend, ending: atTerminal ? .endingAtTerminal : .ending) {
            // The monitors did not finish in time: put the terminal back as hmp found it before leaving.
            if var terminal {
                tcsetattr(0, TCSANOW, &terminal)
                try? FileIO.writeAll(1, Terminfo.current.resetScrollRegion(rows: Terminfo.size().rows))
            }
        }
    }

    /// Serves until quit, then stops the machine; returns the process's exit status.
    public func run() -> Int32 {
        if let incoming = backend.machine.configuration.incoming, incoming != "defer" {
            do throws(BackendError) {
                try backend.startIncoming(uri: incoming)
            } catch {
                FileIO.reportError("-incoming \(incoming): \(error.message)")
                backend.machine.shutdown()
                return 1
            }
        }
        var socketServers: [SocketMonitorServer] = []
        for case .unixSocket(let path, let wait) in endpoints {
            do {
                let server = try SocketMonitorServer(path: path, dispatcher: dispatcher)
                if wait { server.acceptFirstClient() }
                server.start()
                socketServers.append(server)
            } catch {
                FileIO.reportError("\(error)")
                backend.machine.shutdown()
                for server in socketServers { server.remove() }
                return 1
            }
        }
        if endpoints.contains(.stdio) && !hub.isQuitting {
            if atTerminal {
                TerminalMonitor(dispatcher: dispatcher, wakeup: wakeup).run()
            } else {
                let session = MonitorSession(output: 1, history: CommandHistory(), isTerminal: false)
                var monitor = PlainMonitor(input: 0, session: session, dispatcher: dispatcher)
                monitor.wakeup = wakeup
                monitor.run()
            }
        }
        // With no monitor left on stdin, the machine runs on until quit from a socket client or a signal.
        while !hub.isQuitting { wakeup.wait() }
        // The terminal is already restored: the line is QEMU's, on stderr, and the status is 0 as QEMU's.
        termination.printReport()
        finishOutgoingMigration()
        backend.machine.shutdown()
        for server in socketServers { server.remove() }
        return hub.exitStatus
    }

    /// An outgoing migration must not outlive hmp half-sent, nor hold up its exit: cancel it, so that the
    /// destination sees the stream fail, and give its thread a moment to close the stream.
    private func finishOutgoingMigration() {
        backend.cancelMigration()
        let deadline = Clock.milliseconds() + Self.cancelGraceMilliseconds
        while backend.migrationInfo.status.isRunning && Clock.milliseconds() < deadline {
            Clock.sleep(milliseconds: 10)
        }
    }

    /// The command table's rows as man page source, so that hmp(1) lists exactly the commands hmp has.
    public static func manPageCommands() -> String {
        ManPageCommands.render(hmpCommands)
    }
}
