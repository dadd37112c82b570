import Glibc
import Machine
import Migration
import Platform
import QMP
import QObject
import Synchronization

/// A real QEMU reached over QMP (`hmp --connect`). The commands QMP has go as QMP and come back as values that
/// the monitor renders as QEMU's own HMP would; every other line goes through `human-monitor-command`, so the
/// whole of QEMU's HMP works. Events are reported as they arrive, between commands too.
final class QMPBackend: MonitorBackend, Sendable {
    let address: QMPAddress
    let greeting: QMPGreeting
    /// One request at a time: the monitors' commands, the status line's polls and the event reader share it.
    private let connection: Mutex<QMPConnection>
    private let descriptor: Int32
    /// The monitors' loop: QEMU's events are read from it, and migrations are watched by its timers.
    let loop: EventLoop
    private let events: @Sendable (QMPEvent) -> Void
    private let ended: @Sendable (_ status: Int32, _ line: String?) -> Void
    private let quitting = Atomic<Bool>(false)
    /// QEMU's own HMP commands and info items, read from its `help` once, for completion.
    private let learned = Mutex<(commands: [String], infoItems: [String])?>(nil)
    private let gone = Atomic<Bool>(false)

    /// HMP lines QMP can carry; the rest pass through human-monitor-command. `help` and `info history` are the
    /// monitor's own (help lists QEMU's commands through the passthrough).
    static let mappedCommands: Set<String> = [
        "migrate", "migrate_cancel", "migrate_incoming", "migrate_set_parameter", "migrate_set_capability",
        "migrate_set_speed", "migrate_set_downtime", "stop", "s", "cont", "c", "quit", "q",
        "info migrate", "info migrate_parameters", "info migrate_capabilities", "info status", "info history",
        // The descriptor came to hmp, so hmp passes it on: QEMU's own HMP getfd would find none.
        "getfd", "closefd",
    ]

    /// Connects and negotiates. `events` gets every QMP event; `ended` is told once when QEMU goes away, with
    /// the status hmp should exit with (0 after `quit`) and the line to say, if any.
    init(
        address: QMPAddress, loop: EventLoop, events: @escaping @Sendable (QMPEvent) -> Void,
        ended: @escaping @Sendable (_ status: Int32, _ line: String?) -> Void
    ) throws(QMPError) {
        let connection = try QMPConnection.open(address)
        self.address = address
        greeting = connection.greeting ?? QMPGreeting(major: 0, minor: 0, micro: 0, package: "", capabilities: [])
        descriptor = connection.descriptor
        self.loop = loop
        self.connection = Mutex(connection)
        self.events = events
        self.ended = ended
    }

    /// Reads events from the loop between commands (commands run on the loop too, so none is in flight then),
    /// until QEMU goes away.
    func startEventReader() {
        var source: EventLoop.SourceID?
        source = loop.watch(descriptor) { [self] _ in
            let outcome = connection.withLock { connection -> Result<[QMPEvent], QMPError> in
                do throws(QMPError) {
                    try connection.readAvailable()
                    return .success(connection.takeEvents())
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(let arrived): for event in arrived { events(event) }
            case .failure(let error): lost(error)
            }
            if gone.load(ordering: .acquiring), let reader = source {
                loop.remove(reader)
                source = nil
            }
        }
    }

    /// Sends one command and returns its `return` value; QEMU's error comes back in QEMU's words.
    @discardableResult
    func call(_ command: String, _ arguments: QDict? = nil, passing descriptor: Int32? = nil) throws(BackendError) -> QValue {
        let outcome = connection.withLock { connection -> (Result<QValue, QMPError>, [QMPEvent]) in
            do throws(QMPError) {
                let value = try connection.execute(command, arguments: arguments, passing: descriptor)
                return (.success(value), connection.takeEvents())
            } catch {
                return (.failure(error), connection.takeEvents())
            }
        }
        for event in outcome.1 { events(event) }
        switch outcome.0 {
        case .success(let value):
            return value
        case .failure(.command(let error)):
            throw BackendError(error.description)
        case .failure(let error):
            lost(error)
            throw BackendError(error.description)
        }
    }

    /// QEMU went away: once, the application hears why and with which status to end.
    private func lost(_ error: QMPError) {
        guard !gone.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if quitting.load(ordering: .acquiring) {
            ended(0, nil)
        } else if case .connectionClosed = error {
            ended(1, "QEMU at \(address) closed the QMP connection (it quit or was killed)")
        } else {
            ended(1, "lost QEMU at \(address): \(error)")
        }
    }

    // MARK: MonitorBackend

    var name: String? {
        (try? call("query-name"))?.dict?["name"]?.string
    }

    var runState: RunState {
        let status = (try? call("query-status"))?.dict?["status"]?.string ?? "paused"
        return RunState(rawValue: status) ?? .paused
    }

    func stop() {
        _ = try? call("stop")
    }

    func cont() throws(BackendError) {
        try call("cont")
    }

    var blockDevices: [BlockDevice] {
        ((try? call("query-block"))?.list ?? []).compactMap { entry in
            guard let entry = entry.dict, let inserted = entry["inserted"]?.dict else { return nil }
            return BlockDevice(
                id: entry["device"]?.string ?? "", nodeName: inserted["node-name"]?.string ?? "",
                path: inserted["file"]?.string ?? "", format: inserted["drv"]?.string ?? "",
                readOnly: inserted["ro"]?.bool ?? false)
        }
    }

    func pmemsave(address: UInt64, size: UInt64, path: String) throws(BackendError) {
        try call("pmemsave", ["val": .uint(address), "size": .uint(size), "filename": .string(path)])
    }

    var migrationInfo: MigrationInfo {
        MigrationInfo(queryMigrate: (try? call("query-migrate"))?.dict ?? QDict())
    }

    func migrate(
        uri: String, blk: Bool, inc: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle {
        // QMP's migrate always returns at once; waiting is the monitor's business, as with the built-in machine.
        try call("migrate", ["uri": .string(uri), "blk": .bool(blk), "inc": .bool(inc), "detach": true])
        let handle = QMPMigration(backend: self, blockMode: inc ? .incremental : blk ? .full : .none)
        handle.watch(onFinish: onFinish)
        return handle
    }

    func cancelMigration() {
        _ = try? call("migrate_cancel")
    }

    func startIncoming(uri: String) throws(BackendError) {
        try call("migrate-incoming", ["uri": .string(uri)])
    }

    var migrationParameters: MigrationParameters {
        MigrationParameters(queryParameters: (try? call("query-migrate-parameters"))?.dict ?? QDict())
    }

    /// Checked and converted as QEMU's HMP does (same texts), then sent typed.
    func setMigrationParameter(name: String, value: String) throws(BackendError) {
        var parameters = migrationParameters
        do {
            try parameters.set(name: name, value: value)
        } catch {
            throw BackendError("\(error)")
        }
        guard let typed = parameters.qmpValue(name) else { return }
        try call("migrate-set-parameters", [name: typed])
    }

    /// The members that differ, in one migrate-set-parameters, so that QEMU checks them together as well.
    func setMigrationParameters(_ parameters: MigrationParameters) throws(BackendError) {
        let current = migrationParameters
        var changed = QDict()
        for name in MigrationParameters.names {
            if let value = parameters.qmpValue(name), value != current.qmpValue(name) { changed[name] = value }
        }
        if !changed.isEmpty { try call("migrate-set-parameters", changed) }
    }

    func setMigrationSpeed(bytes: UInt64) {
        _ = try? call("migrate-set-parameters", ["max-bandwidth": .uint(bytes)])
    }

    func setMigrationDowntime(seconds: Double) throws(BackendError) {
        var parameters = MigrationParameters()
        do {
            try parameters.setDowntime(seconds: seconds)
        } catch {
            throw BackendError("\(error)")
        }
        try call("migrate-set-parameters", ["downtime-limit": .uint(parameters.downtimeLimit)])
    }

    var migrationCapabilities: MigrationCapabilities {
        MigrationCapabilities(queryCapabilities: (try? call("query-migrate-capabilities"))?.list ?? [])
    }

    func setMigrationCapability(name: String, on: Bool) throws(BackendError) {
        guard MigrationCapabilities.names.contains(name) else {
            throw BackendError("\(MigrationSettingError.invalidValue(name))")
        }
        let entry: QValue = ["capability": .string(name), "state": .bool(on)]
        try call("migrate-set-capabilities", ["capabilities": [entry]])
    }

    /// The descriptor a monitor client passed goes on to QEMU with QMP's getfd (SCM_RIGHTS over the QMP socket),
    /// so that `migrate fd:NAME` and the like work there; hmp's copy is closed either way.
    func name(descriptor: Int32, as name: String) throws(BackendError) {
        defer { close(descriptor) }
        try call("getfd", ["fdname": .string(name)], passing: descriptor)
    }

    func closeDescriptor(named name: String) throws(BackendError) {
        try call("closefd", ["fdname": .string(name)])
    }

    func quit() {
        quitting.store(true, ordering: .releasing)
        _ = try? call("quit")
    }

    func humanMonitorCommand(_ line: String) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).prefix(2).map(String.init)
        guard let first = words.first else { return nil }
        let command = first == "info" && words.count > 1 ? "info \(words[1])" : first
        if QMPBackend.mappedCommands.contains(command) { return nil }
        do throws(BackendError) {
            let output = try call("human-monitor-command", ["command-line": .string(line)]).string ?? ""
            return output.replacingCRLF()
        } catch {
            return "Error: \(error.message)\n"
        }
    }
}

extension QMPBackend {
    var otherCommands: (commands: [String], infoItems: [String]) {
        if let known = learned.withLock({ $0 }) { return known }
        let help = (try? call("human-monitor-command", ["command-line": "help"]))?.string ?? ""
        let info = (try? call("human-monitor-command", ["command-line": "help info"]))?.string ?? ""
        let known = (QMPBackend.names(in: help), QMPBackend.names(in: info).compactMap { name -> String? in
            name.hasPrefix("info ") ? String(name.dropFirst(5)) : nil
        })
        learned.withLock { $0 = known }
        return known
    }

    /// The names `help` lists: the first word of each line that does not continue the one before (those start
    /// with a tab), aliases after `|` included; for `help info`, `info NAME`.
    static func names(in help: String) -> [String] {
        help.split(separator: "\n").flatMap { line -> [String] in
            guard let first = line.first, first != "\t", first != " " else { return [] }
            let words = line.split(separator: " ", maxSplits: 2)
            if words.first == "info", words.count > 1 {
                return words[1].split(separator: "|").map { "info \($0)" }
            }
            return words.first.map { $0.split(separator: "|").map(String.init) } ?? []
        }
    }
}

extension String {
    /// QEMU's monitor ends lines with `\r\n`; the monitor's sessions write `\n`.
    fileprivate func replacingCRLF() -> String {
        var result = ""
        result.reserveCapacity(utf8.count)
        for scalar in unicodeScalars where scalar != "\r" { result.unicodeScalars.append(scalar) }
        return result
    }
}
