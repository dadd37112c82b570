import Glibc
import Platform
import HMP
public import Machine
import QMP

/// Runs the monitors over one machine until `quit`, Ctrl-D at the terminal, or SIGTERM, SIGHUP or SIGINT.
public final class MonitorApplication {
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
        self.init(backend: local, local: local, hub: hub, endpoints: endpoints, greeting: CommandDispatcher.localBanner)
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
            greeting: "hmp \(InfoCommands.hmpVersion) monitor attached to QEMU \(qemu.version)\(package) "
                + "at \(backend.address)"
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
        atTerminal = endpoints.contains(.stdio) && TerminalMonitor.isAvailable
        termination = SignalTermination(hub: hub, backend: local, atTerminal: atTerminal)
    }

    /// A part that could not start: its line for stderr.
    private struct StartFailure: Error {
        let message: String

        /// Runs `body`; its failure becomes the part's, in that error's own words.
        static func describing<T>(_ body: () throws -> T) throws(StartFailure) -> T {
            do { return try body() } catch { throw StartFailure(message: "\(error)") }
        }
    }

    /// How each part that started stops, in the order they started.
    private var stops: [() -> Void] = []

    /// Serves until quit; returns the process's exit status. Each part starts in turn and says how it stops; once
    /// hmp ends, or a part cannot start, those that started stop in reverse.
    public func run() -> Int32 {
        var failed = false
        do throws(StartFailure) {
            if let local {
                stops.append { local.finishOutgoingMigration(); local.machine.shutdown() }
                try startIncoming(local)
                try startDemoDestination(local)
            }
            let socketServers = try startSocketServers()
            let qmpServers = try startQMPServers()
            if let local, let memPath = local.machine.configuration.memPath { watchForShrinking(memPath) }
            // By then the terminal is restored: the line is QEMU's, on stderr, and the status is 0 as QEMU's.
            stops.append { [termination] in termination.printReport() }
            // Attached to a QEMU, the end of stdin (^D, a script's end) detaches: that QEMU runs on by itself. With
            // the built-in machine, or other monitors, the machine runs on until quit from a socket or a signal.
            startStdin(endsHMP: local == nil && socketServers.isEmpty && qmpServers.isEmpty)
            loop.run { hub.isQuitting }
        } catch {
            FileIO.reportError(error.message)
            failed = true
        }
        while let stop = stops.popLast() { stop() }
        return failed ? 1 : hub.exitStatus
    }

    private func startIncoming(_ local: LocalBackend) throws(StartFailure) {
        guard let incoming = local.machine.configuration.incoming, incoming != "defer" else { return }
        do throws(BackendError) {
            try backend.startIncoming(uri: incoming)
        } catch {
            throw StartFailure(message: "-incoming \(incoming): \(error.message)")
        }
    }

    private func startDemoDestination(_ local: LocalBackend) throws(StartFailure) {
        guard let address = demoDestination else { return }
        let destination = try StartFailure.describing {
            try DemoDestination(address: address, configuration: local.machine.configuration, backend: local, hub: hub)
        }
        // Ended after the machine, once no migration can still go to it.
        stops.insert({ destination.stop() }, at: 0)
        destination.start()
        try? FileIO.writeAll(1, destination.introduction + "\n")
    }

    private func startSocketServers() throws(StartFailure) -> [SocketMonitorServer] {
        var servers: [SocketMonitorServer] = []
        for case .unixSocket(let path, let wait) in endpoints {
            let server = try StartFailure.describing { try SocketMonitorServer(path: path, dispatcher: dispatcher) }
            stops.append { server.remove() }
            if wait { server.acceptFirstClient() }
            server.start()
            servers.append(server)
        }
        return servers
    }

    private func startQMPServers() throws(StartFailure) -> [QMPServer] {
        let events = QMPEvents(dispatcher: dispatcher)
        var servers: [QMPServer] = []
        for case .qmp(let address, let pretty) in endpoints {
            let server = try StartFailure.describing {
                try QMPServer(address: address, pretty: pretty, dispatcher: dispatcher, events: events)
            }
            stops.append { server.remove() }
            server.start()
            servers.append(server)
        }
        guard !servers.isEmpty else { return servers }
        events.startWatching()
        // HMP's quit is QEMU's qmp_quit too: every negotiated QMP client hears why hmp ends, before anything stops.
        stops.append { [termination] in
            events.shutdown(reason: termination.isEndedBySignal ? "host-signal" : "host-qmp-quit")
        }
        return servers
    }

    private func startStdin(endsHMP: Bool) {
        guard endpoints.contains(.stdio), !hub.isQuitting else { return }
        if atTerminal {
            TerminalMonitor(dispatcher: dispatcher).run()
            if endsHMP { hub.requestQuit(status: 0) }
        } else {
            let session = MonitorSession(output: 1, history: CommandHistory(), isTerminal: false)
            let monitor = PlainMonitor(input: 0, session: session, dispatcher: dispatcher) { [hub] in
                if endsHMP { hub.requestQuit(status: 0) }
            }
            stops.append { monitor.stop() }
            monitor.start()
        }
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

    /// The command table's rows as man page source, so that hmp(1) lists exactly the commands hmp has.
    public static func manPageCommands() -> String {
        ManPageCommands.render(hmpCommands)
    }
}
