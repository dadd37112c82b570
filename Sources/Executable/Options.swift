import ArgumentParser
import Machine
import Monitor

/// hmp's command line, spelled as QEMU's (single dash), so that habits and scripts carry over.
struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmp",
        abstract: "QEMU's Human Monitor, with a built-in machine that can live-migrate.",
        discussion: """
            Starts a machine and gives a (qemu) prompt. Type 'help' at the prompt for the commands, \
            or see hmp(1).
            """,
        version: hmpVersion
    )

    @Option(name: .customShort("m"), help: ArgumentHelp("Guest RAM size: MiB, or with a K/M/G/T suffix (default: 128M, as QEMU).", valueName: "size"))
    var memory: String?

    @Option(name: .customLong("mem-path", withSingleDash: true), help: ArgumentHelp("Map the RAM's initial content privately from this file, copy-on-write (never written back; start-up does not read it).", valueName: "file"))
    var memPath: String?

    @Flag(name: .customLong("mem-prealloc", withSingleDash: true), help: "Allocate and touch all of guest RAM before the monitor starts, as QEMU's -mem-prealloc.")
    var memPrealloc = false

    @Option(name: .customLong("drive", withSingleDash: true), help: ArgumentHelp("A disk backed by an image file: file=PATH[,id=ID][,format=raw][,readonly=on]. Repeatable.", valueName: "options"))
    var drives: [String] = []

    @Flag(name: .customShort("S"), help: "Do not start the guest at start-up.")
    var startPaused = false

    @Option(name: .customLong("name", withSingleDash: true), help: ArgumentHelp("The machine's name, shown by 'info name'.", valueName: "name"))
    var name: String?

    @Option(name: .customLong("workload", withSingleDash: true), help: ArgumentHelp("Guest writes per second while running: ram=RATE,disk=RATE[,region=SIZE] (e.g. ram=64M,disk=4M); region= keeps RAM writes in the first SIZE bytes.", valueName: "rates"))
    var workload: String?

    // Repeatable as QEMU's: `-monitor stdio -monitor unix:...` gives the terminal and a socket both.
    @Option(name: .customLong("monitor", withSingleDash: true), help: ArgumentHelp("Where a monitor is: stdio, none, or unix:PATH,server=on,wait=off. Repeatable; stdio when not given.", valueName: "dev"))
    var monitors: [String] = []

    @Option(name: .customLong("qmp", withSingleDash: true), help: ArgumentHelp("A QMP server: unix:PATH,server=on,wait=off or tcp:HOST:PORT,server=on,wait=off. Repeatable.", valueName: "dev"))
    var qmps: [String] = []

    @Option(name: .customLong("qmp-pretty", withSingleDash: true), help: ArgumentHelp("As -qmp, with every JSON message indented as QEMU's -qmp-pretty does. Repeatable.", valueName: "dev"))
    var prettyQMPs: [String] = []

    @Option(name: .customLong("incoming", withSingleDash: true), help: ArgumentHelp("Wait for an incoming migration on this URI (tcp:0:PORT, unix:PATH, exec:CMD, defer).", valueName: "uri"))
    var incoming: String?

    @Option(name: .customLong("device", withSingleDash: true), help: ArgumentHelp("Add a device; only 'nomigrate' (a device that cannot migrate, which blocks migration) exists.", valueName: "driver"))
    var devices: [String] = []

    @Option(name: .customLong("connect"), help: ArgumentHelp("Drive the running QEMU whose QMP socket is at ADDRESS (unix:PATH or tcp:HOST:PORT) instead of the built-in machine.", valueName: "address"))
    var connect: String?

    @Option(name: .customLong("destination"), help: ArgumentHelp("With --connect: the destination QEMU's QMP socket (unix:PATH or tcp:HOST:PORT), so that migrate -b copies the disks over NBD and blockdev-mirror, on every QEMU.", valueName: "address"))
    var destination: String?

    @Option(name: .customLong("demo-destination"), help: ArgumentHelp("Keep a destination hmp listening on HOST:PORT for the demo, replaced after every migration to it; if it cannot start (the port is taken) it is retried with backoff. Choose another port if that one is in use, e.g. --demo-destination 127.0.0.1:4445 and migrate -b tcp:127.0.0.1:4445.", valueName: "host:port"))
    var demoDestination: String?

    @Flag(name: .customLong("print-man-commands", withSingleDash: false), help: .hidden)
    var printManCommands = false

    mutating func run() throws {}
}

let hmpVersion = "0.1.0"

extension Options {
    /// The machine these options describe; every value is checked here, before anything is opened.
    func machineConfiguration() throws(MachineError) -> MachineConfiguration {
        let drives = try self.drives.enumerated().map { index, text throws(MachineError) in
            try DriveConfiguration.parse(text, index: index)
        }
        return MachineConfiguration(
            ramSize: try MachineConfiguration.parseRAMSize(memory ?? "128M"),
            memPath: memPath,
            prealloc: memPrealloc,
            drives: drives,
            startPaused: startPaused,
            name: name,
            workload: try workload.map { text throws(MachineError) in try WorkloadRates.parse(text) },
            incoming: incoming
        )
    }
}

extension Options {
    /// The built-in machine's options that were given: with --connect there is no such machine to apply them to.
    var machineOptionsGiven: [String] {
        let options = [
            ("-m", memory != nil), ("-mem-path", memPath != nil), ("-mem-prealloc", memPrealloc),
            ("-drive", !drives.isEmpty), ("-S", startPaused), ("-name", name != nil), ("-workload", workload != nil),
            ("-incoming", incoming != nil), ("-device", !devices.isEmpty),
            ("--demo-destination", demoDestination != nil),
        ]
        return options.filter(\.1).map(\.0)
    }
}

extension Options {
    /// Every `-monitor`, stdio when none is given; `none` contributes no monitor.
    func monitorEndpoints() throws(MonitorEndpointError) -> [MonitorEndpoint] {
        var endpoints: [MonitorEndpoint] = []
        for text in monitors.isEmpty ? ["stdio"] : monitors {
            let endpoint = try MonitorEndpoint(parsing: text)
            if endpoint != .none && !endpoints.contains(endpoint) { endpoints.append(endpoint) }
        }
        for (text, pretty) in qmps.map({ ($0, false) }) + prettyQMPs.map({ ($0, true) }) {
            let endpoint = try MonitorEndpoint(qmp: text, pretty: pretty)
            if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
        }
        return endpoints
    }
}
