import Glibc
import Platform
import HMP
public import Machine
import QMP

/// Runs the monitors over one machine until `quit`, Ctrl-D at the terminal, or SIGTERM, SIGHUP or SIGINT.
public final class MonitorApplication {
    public static let version = "0.1.0"
    static let prompt = "(qemu) "
    static var banner: String { "hmp \(version) monitor (QEMU \(InfoCommands.qemuVersion) HMP) - type 'help' for more information" }

    /// How long an exiting hmp waits for a cancelled outgoing migration to let go of its stream.
    static let cancelGraceMilliseconds: UInt64 = 2000

    private let endpoints: [MonitorEndpoint]
    private let loop: EventLoop
    private let hub: MonitorHub
    private let backend: any MonitorBackend
    /// The built-in machine, when hmp runs one (not with --connect).
    private let local: LocalBackend?
    private let dispatcher: CommandDispatcher
    private let atTerminal: Bool
    private let termination: SignalTermination
    /// `--demo-destination HOST:PORT`: keep a destination hmp there for the demo (the built-in machine only).
    public var demoDestination: String?

    /// `endpoints`: every `-monitor`, e.g. the terminal on stdio and a unix socket beside it.
    public convenience init(machine: Machine, endpoints: [MonitorEndpoint]) {
        let hub = MonitorHub(loop: EventLoop())
        let local = LocalBackend(machine: machine, loop: hub.loop, endApplication: { hub.requestQuit(status: $0) })
        self.init(backend: local, local: local, hub: hub, endpoints: endpoints, greeting: Self.banner)
    }

    /// `hmp --connect ADDRESS`: the monitors drive the QEMU whose QMP socket is at `address` (`unix:PATH` or
    /// `tcp:HOST:PORT`); `destination`, the QMP socket of the QEMU a `migrate -b` goes to (the disks are copied
    /// over NBD). Throws a one-line reason when either cannot be reached.
    public convenience init(
        connectingTo address: String, destination: String? = nil, endpoints: [MonitorEndpoint]
    ) throws(ConnectError) {
        let hub = MonitorHub(loop: EventLoop())
        let sourceAddress: QMPAddress, destinationAddress: QMPAddress?
        do throws(QMPError) {
            sourceAddress = try QMPAddress(parsing: address)
            destinationAddress = try destination.map { text throws(QMPError) in try QMPAddress(parsing: text) }
        } catch {
            throw ConnectError(message: "\(error)")
        }
        let backend: QMPBackend
        do throws(QMPBackend.AttachError) {
            backend = try QMPBackend(
                address: sourceAddress, destination: destinationAddress, hub: hub,
                ended: { status, line in
                    // At a terminal the prompt is on screen: the line goes below it, not after it.
                    if let line {
                        if isatty(2) == 1 { try? FileIO.writeAll(2, "\n") }
                        FileIO.reportError(line)
                    }
                    hub.requestQuit(status: status)
                })
        } catch {
            switch error {
            case .source(let error): throw ConnectError(message: "--connect \(address): \(error)")
            case .destination(let error): throw ConnectError(message: "--destination \(destination ?? ""): \(error)")
            }
        }
        // QEMU's events, as they arrive, on every terminal monitor (above the line being edited, or above the
        // status line of a migration being waited for). Not on pipes and sockets: they would break up the command
        // output scripts parse (a script that wants them speaks QMP itself).
        backend.observeEvents { event in
            guard event.fromQEMU, !StorageMigration.isStepNoise(event) else { return }
            hub.broadcast(terminal: HMPFormat.event(event.event))
        }
        let qemu = backend.greeting
        let package = qemu.package.isEmpty ? "" : " (\(TerminalSafeText.singleLine(qemu.package)))"
        self.init(
            backend: backend, local: nil, hub: hub, endpoints: endpoints,
            greeting: "hmp \(Self.version) monitor attached to QEMU \(qemu.version)\(package) at \(backend.address)"
                + (backend.destination.map { " (migrating to QEMU \($0.greeting?.version ?? "?") at \(destinationAddress!))" } ?? "")
                + " - type 'help' for more information")
    }

    /// Why `--connect` could not attach.
    public struct ConnectError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private init(
        backend: any MonitorBackend, local: LocalBackend?, hub: MonitorHub,
        endpoints: [MonitorEndpoint], greeting: String
    ) {
        self.endpoints = endpoints
        loop = hub.loop
        self.hub = hub
        self.backend = backend
        self.local = local
        Signals.install()
        // The loop wakes for every signal too: ^C and resizes at the terminal; ending signals are
        // SignalTermination's, which asks the loop to quit.
        Signals.wake(loop.wakeup)
        dispatcher = CommandDispatcher(table: hmpCommands, backend: backend, hub: hub, banner: greeting)
        atTerminal = endpoints.contains(.stdio) && isatty(0) == 1 && isatty(1) == 1
        var saved = termios()
        let terminal = atTerminal && tcgetattr(0, &saved) == 0 ? saved : nil
        termination = SignalTermination(hub: hub, backend: local, ending: atTerminal ? .endingAtTerminal : .ending) {
            // The monitors did not finish in time: put the terminal back as hmp found it before leaving.
            if var terminal {
                tcsetattr(0, TCSANOW, &terminal)
                try? FileIO.writeAll(1, Terminfo.current.resetScrollRegion(rows: Terminfo.size().rows))
            }
        }
    }

    /// Serves until quit, then stops the machine; returns the process's exit status.
    public func run() -> Int32 {
        if let local, let incoming = local.machine.configuration.incoming, incoming != "defer" {
            do throws(BackendError) {
                try backend.startIncoming(uri: incoming)
            } catch {
                FileIO.reportError("-incoming \(incoming): \(error.message)")
                local.machine.shutdown()
                return 1
            }
        }
        var demo: DemoDestination?
        if let address = demoDestination, let local {
            do throws(DemoDestination.Failure) {
                let destination = try DemoDestination(
                    address: address, configuration: local.machine.configuration, backend: local, hub: hub)
                demo = destination
                try destination.start()
                try? FileIO.writeAll(1, destination.introduction + "\n")
            } catch {
                FileIO.reportError("\(error)")
                demo?.stop()
                local.machine.shutdown()
                return 1
            }
        }
        defer { demo?.stop() }
        var socketServers: [SocketMonitorServer] = []
        for case .unixSocket(let path, let wait) in endpoints {
            do {
                let server = try SocketMonitorServer(path: path, dispatcher: dispatcher)
                if wait { server.acceptFirstClient() }
                server.start()
                socketServers.append(server)
            } catch {
                FileIO.reportError("\(error)")
                local?.machine.shutdown()
                for server in socketServers { server.remove() }
                return 1
            }
        }
        let qmpEvents = QMPEvents(dispatcher: dispatcher)
        var qmpServers: [QMPServer] = []
        for case .qmp(let address, let pretty) in endpoints {
            do throws(SystemError) {
                let server = try QMPServer(address: address, pretty: pretty, dispatcher: dispatcher, events: qmpEvents)
                server.start()
                qmpServers.append(server)
            } catch {
                FileIO.reportError("\(error)")
                local?.machine.shutdown()
                for server in socketServers { server.remove() }
                for server in qmpServers { server.remove() }
                return 1
            }
        }
        if !qmpServers.isEmpty { qmpEvents.startWatching() }
        if let local, let memPath = local.machine.configuration.memPath { watchForShrinking(memPath) }
        // Attached to a QEMU, the end of stdin (^D, a script's end) detaches: that QEMU runs on by itself. With
        // the built-in machine, or other monitors, the machine runs on until quit from a socket or a signal.
        let stdinEndsHMP = local == nil && socketServers.isEmpty && qmpServers.isEmpty
        var stdinMonitor: PlainMonitor?
        if endpoints.contains(.stdio) && !hub.isQuitting {
            if atTerminal {
                TerminalMonitor(dispatcher: dispatcher).run()
                if stdinEndsHMP { hub.requestQuit(status: 0) }
            } else {
                let session = MonitorSession(output: 1, history: CommandHistory(), isTerminal: false)
                stdinMonitor = PlainMonitor(input: 0, session: session, dispatcher: dispatcher) { [hub] in
                    if stdinEndsHMP { hub.requestQuit(status: 0) }
                }
                stdinMonitor?.start()
            }
        }
        loop.run { hub.isQuitting }
        stdinMonitor?.stop()
        // The terminal is already restored: the line is QEMU's, on stderr, and the status is 0 as QEMU's.
        termination.printReport()
        if !qmpServers.isEmpty {
            // HMP's quit is QEMU's qmp_quit too: every negotiated QMP client hears why hmp ends.
            qmpEvents.shutdown(reason: termination.isEndedBySignal ? "host-signal" : "host-qmp-quit")
        }
        if let local {
            finishOutgoingMigration()
            local.machine.shutdown()
        }
        for server in socketServers { server.remove() }
        for server in qmpServers { server.remove() }
        return hub.exitStatus
    }

    /// A -mem-path file that shrinks under the running guest loses its pages past the new end (the kernel drops
    /// them, the guest's copies too); they read as zeros instead of ending hmp with SIGBUS. Said once, as an error.
    private func watchForShrinking(_ memPath: String) {
        let before = ShrinkGuard.replacedPages
        var timer: EventLoop.TimerID?
        timer = loop.every(milliseconds: 500) { [loop, hub, atTerminal] in
            guard ShrinkGuard.replacedPages > before else { return }
            if let timer { loop.cancel(timer) }
            let line = "the -mem-path file '\(memPath)' shrank under the running guest: its RAM past the file's new end "
                + "now reads as zeros (the guest's writes there are lost); keep the file's size while hmp runs"
            // At a terminal above the prompt; elsewhere on stderr, where QEMU's errors go.
            if atTerminal {
                hub.broadcast(terminal: "hmp: " + line)
            } else {
                FileIO.reportError(line)
            }
        }
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
