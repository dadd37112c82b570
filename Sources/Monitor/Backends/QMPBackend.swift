import Glibc
import MigrationModel
import Platform
import QMP
import QObject

/// A real QEMU reached over QMP (`hmp --connect`), any version from 7.2 to 10.x. At attach it learns what that
/// QEMU has (its commands, `migrate`'s arguments, its migration parameters and capabilities), so nothing here
/// relies on one version's lists. The lines whose table rows say `.qemuMonitor`, and every line no row names, run
/// on QEMU's own HMP (human-monitor-command), so they print exactly what that QEMU prints; the rest go as QMP
/// and come back as values that hmp watches and renders (a migration's progress, its summary).
///
/// Confined to the event loop's thread: commands, timers and events all run there, and a request runs the loop
/// while it waits for QEMU (QMPClient), so other monitors, ^C and signals are served meanwhile. Every request
/// has a deadline, after which the command fails with a message naming it.
final class QMPBackend: MonitorBackend, @unchecked Sendable {
    let address: QMPAddress
    let greeting: QMPGreeting
    let client: QMPClient
    let features: QEMUFeatures
    /// `--destination`: the QEMU a `migrate -b` goes to, whose disks receive the source's over NBD.
    let destination: QMPClient?
    let destinationAddress: QMPAddress?
    /// The storage migration running now, if any: `info migrate` adds its lines to QEMU's.
    var storageMigration: StorageMigration?
    var loop: EventLoop { client.loop }
    private let hub: MonitorHub
    let events: BackendEventRelay
    private let ended: @Sendable (_ status: Int32, _ line: String?) -> Void
    private var quitting = false
    private var gone = false
    /// QEMU's own HMP commands and info items, read from its `help` once, for completion.
    private var learnedHelp: (commands: [String], infoItems: [String])?

    /// How long QEMU may take to answer a command, and a line run on its own monitor (which may be slow work:
    /// a large pmemsave, savevm).
    static let answerMilliseconds: UInt64 = 10_000
    static let monitorLineMilliseconds: UInt64 = 30_000

    var needsCommandLock: Bool { false }

    /// Which of the two QEMUs could not be attached to.
    enum AttachError: Error {
        case source(QMPError)
        case destination(QMPError)
    }

    /// Connects, negotiates and learns the QEMU (and the destination, if any). `ended` is told once when QEMU goes
    /// away, with the status hmp should exit with (0 after `quit`) and the line to say, if any.
    init(
        address: QMPAddress, destination destinationAddress: QMPAddress? = nil, hub: MonitorHub,
        ended: @escaping @Sendable (_ status: Int32, _ line: String?) -> Void
    ) throws(AttachError) {
        self.address = address
        self.hub = hub
        self.ended = ended
        self.destinationAddress = destinationAddress
        let stop = Self.stopWaiting(hub: hub)
        let relay = BackendEventRelay(loop: hub.loop)
        events = relay
        do throws(QMPError) {
            client = try QMPClient.open(address, loop: hub.loop, timeout: Self.answerMilliseconds, stopWaiting: stop)
            client.onEvents = { arrived in
                for event in arrived { relay.record(BackendEvent(event, fromQEMU: true)) }
                relay.deliver()
            }
            features = try QEMUFeatures.learn(from: client, timeout: Self.answerMilliseconds, stopWaiting: stop)
        } catch {
            throw .source(error)
        }
        greeting = client.greeting ?? QMPGreeting(major: 0, minor: 0, micro: 0, package: "", capabilities: [])
        do throws(QMPError) {
            destination = try destinationAddress.map { address throws(QMPError) in
                try QMPClient.open(address, loop: hub.loop, timeout: Self.answerMilliseconds, stopWaiting: stop)
            }
        } catch {
            throw .destination(error)
        }
        client.onLost = { [unowned self] error in lost(error) }
        // The destination's events are its own (the terminal shows the source's); losing it fails a storage
        // migration that needs it, not hmp.
        destination?.onLost = { [unowned self] error in storageMigration?.destinationLost(error) }
    }

    /// What ends a wait for QEMU early: hmp quitting (SIGTERM, quit elsewhere), or ^C typed while it waits.
    private static func stopWaiting(hub: MonitorHub) -> () -> String? {
        var signals = SignalWatch()
        return {
            if hub.isQuitting { return "hmp is quitting" }
            if signals.take().contains(.typedInterrupt) { return "interrupted by ^C" }
            return nil
        }
    }

    /// Sends one command and returns its `return` value; QEMU's error comes back in QEMU's words, a silent QEMU
    /// as a line that names the command and the wait.
    @discardableResult
    func call(
        _ command: String, _ arguments: QDict? = nil, passing descriptor: Int32? = nil,
        timeout: UInt64 = QMPBackend.answerMilliseconds
    ) throws(BackendError) -> QValue {
        do throws(QMPError) {
            return try client.call(
                command, arguments: arguments, passing: descriptor, timeout: timeout,
                stopWaiting: Self.stopWaiting(hub: hub))
        } catch {
            throw BackendError(describe(error, command: command))
        }
    }

    /// The words for a failed request: QEMU's own error text as it is, the rest with QEMU's address.
    func describe(_ error: QMPError, command: String) -> String {
        switch error {
        case .command(let error): error.description
        case .timedOut(_, let seconds): "QEMU at \(address) did not answer \(command) within \(seconds) s"
        case .abandoned(let reason): "QEMU at \(address) had not answered \(command) yet: \(reason)"
        case .connectionClosed: "QEMU at \(address) closed the QMP connection (it quit or was killed)"
        default: "lost QEMU at \(address): \(error)"
        }
    }

    /// QEMU went away: once, the application hears why and with which status to end.
    private func lost(_ error: QMPError) {
        guard !gone else { return }
        gone = true
        if quitting {
            ended(0, nil)
        } else {
            ended(1, describe(error, command: ""))
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

    func stop() throws(BackendError) {
        try call("stop")
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
        try call(
            "pmemsave", ["val": .uint(address), "size": .uint(size), "filename": .string(path)],
            timeout: Self.monitorLineMilliseconds)
    }

    var migrationInfo: MigrationInfo {
        MigrationInfo(queryMigrate: (try? call("query-migrate"))?.dict ?? QDict())
    }

    func migrate(
        uri: String, blk: Bool, inc: Bool, resume: Bool, detach: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> any MigrationHandle {
        // Only what the user asked for, and only what this QEMU takes: 9.1 removed blk and inc.
        if (blk || inc), !resume, let destination {
            if let running = storageMigration, running.phase != .done {
                throw BackendError("There's a migration process in progress")
            }
            return try StorageMigration.start(
                backend: self, destination: destination, uri: uri, incremental: inc, onFinish: onFinish)
        }
        var arguments: QDict = ["uri": .string(uri)]
        if blk || inc {
            guard features.hasBlockMigration else {
                throw BackendError(
                    "QEMU \(greeting.version) has no block migration (-b and -i were removed in QEMU 9.1): "
                        + "start hmp with --destination and the destination QEMU's QMP socket, and migrate -b "
                        + "copies the disks over NBD; or migrate without -b when both sides share the storage")
            }
            if blk { arguments["blk"] = true }
            if inc { arguments["inc"] = true }
        }
        if resume { arguments["resume"] = true }
        // QMP's migrate always returns at once; waiting is the monitor's business, as with the built-in machine.
        arguments["detach"] = true
        try call("migrate", arguments)
        let handle = QMPMigration(backend: self, blockMode: inc ? .incremental : blk ? .full : .none)
        handle.watch(onFinish: onFinish)
        return handle
    }

    func cancelMigration() {
        if let storageMigration {
            storageMigration.cancel()
            return
        }
        // Not waited for: ^C must never hang on a QEMU that stopped answering. Its error, if any, is QEMU's
        // business (nothing to cancel); the migration's status says how it ended.
        client.send("migrate_cancel", timeout: Self.answerMilliseconds) { _ in }
    }

    func continueMigration(state: String) throws(BackendError) {
        try call("migrate-continue", ["state": .string(state)])
    }

    func startIncoming(uri: String) throws(BackendError) {
        try call("migrate-incoming", ["uri": .string(uri)])
    }

    var migrationParameters: MigrationParameters {
        MigrationParameters(queryParameters: (try? call("query-migrate-parameters"))?.dict ?? QDict())
    }

    /// Passed to QEMU's own monitor, which parses and checks it as that version does (and names it in its
    /// errors): hmp's table of QEMU 7.2's parameters plays no part.
    func setMigrationParameter(name: String, value: String) throws(BackendError) {
        try runOnQEMUMonitor("migrate_set_parameter \(name) \(value)")
    }

    /// The members that differ, in one migrate-set-parameters, so that QEMU checks them together as well.
    func setMigrationParameters(_ parameters: MigrationParameters) throws(BackendError) {
        let current = migrationParameters
        var changed = QDict()
        // The rows this QEMU has; a parameter hmp has no row for passes through to QEMU's own monitor instead.
        for row in MigrationParameter.table where features.parameterNames.contains(row.name) {
            if let value = row.qmpValue(parameters), value != row.qmpValue(current) { changed[row.name] = value }
        }
        if !changed.isEmpty { try call("migrate-set-parameters", changed) }
    }

    func setMigrationSpeed(bytes: UInt64) throws(BackendError) {
        try call("migrate-set-parameters", ["max-bandwidth": .uint(bytes)])
    }

    func setMigrationDowntime(seconds: Double) throws(BackendError) {
        var parameters = MigrationParameters()
        try BackendError.describing { try parameters.setDowntime(seconds: seconds) }
        try call("migrate-set-parameters", ["downtime-limit": .uint(parameters.downtimeLimit)])
    }

    var migrationCapabilities: MigrationCapabilities {
        MigrationCapabilities(queryCapabilities: (try? call("query-migrate-capabilities"))?.list ?? [])
    }

    var migrationParameterNames: [String] { features.parameterNames }
    var migrationCapabilityNames: [String] { features.capabilityNames }

    func setMigrationCapability(name: String, on: Bool) throws(BackendError) {
        try runOnQEMUMonitor("migrate_set_capability \(name) \(on ? "on" : "off")")
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
        quitting = true
        _ = try? call("quit")
    }

    func humanMonitorCommand(_ line: String) -> String? {
        do throws(BackendError) {
            let output = try call(
                "human-monitor-command", ["command-line": .string(line)], timeout: Self.monitorLineMilliseconds
            ).string ?? ""
            // While hmp's storage migration mirrors the disks, QEMU's own monitor knows nothing of it yet.
            let extra = line.split(whereSeparator: \.isWhitespace) == ["info", "migrate"]
                ? (storageMigration?.summaryLines ?? []).map { $0 + "\n" }.joined() : ""
            // QEMU's output is the peer's text: printable before it reaches a terminal.
            return TerminalSafeText.multiLine(output.replacingCRLF()) + extra
        } catch {
            return "Error: \(TerminalSafeText.singleLine(error.message))\n"
        }
    }

    /// A line for QEMU's monitor whose output, if any, is an error (as `migrate_set_parameter`'s is).
    private func runOnQEMUMonitor(_ line: String) throws(BackendError) {
        let output = humanMonitorCommand(line) ?? ""
        guard output.isEmpty else {
            let text = output.hasSuffix("\n") ? String(output.dropLast()) : output
            throw BackendError(text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text)
        }
    }

    func observeEvents(_ observer: @escaping (BackendEvent) -> Void) {
        events.observe(observer)
    }

    func deliverEvents() {
        events.deliver()
    }
}

extension QMPBackend {
    var otherCommands: (commands: [String], infoItems: [String]) {
        if let known = learnedHelp { return known }
        let help = humanMonitorCommand("help") ?? ""
        let info = humanMonitorCommand("help info") ?? ""
        let known = (QMPBackend.names(in: help), QMPBackend.names(in: info).compactMap { name -> String? in
            name.hasPrefix("info ") ? String(name.dropFirst(5)) : nil
        })
        learnedHelp = known
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
