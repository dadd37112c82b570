import MigrationModel
import Platform
import QMP
import QObject

/// `migrate -b URI` with `--destination`: the disks go over NBD and blockdev-mirror, then the RAM, as libvirt's
/// `virsh migrate --copy-storage-all` does it (its src/qemu/qemu_migration.c is the reference for the order).
/// It works on every QEMU, including 9.1 and later, which removed block migration.
///
/// 1. destination: `nbd-server-start` on the URI's host, `block-export-add` (writable) for each disk;
/// 2. source: `blockdev-add` of an NBD client node per disk, `blockdev-mirror` to it (sync full, or top for `-i`;
///    write-blocking where QEMU has it, so that a guest writing fast cannot keep a mirror from converging);
/// 3. when every mirror is READY: `migrate` with pause-before-switchover;
/// 4. at pre-switchover: `block-job-cancel` each mirror (which completes a READY mirror without pivoting), wait
///    for them to conclude, dismiss them, `blockdev-del` the NBD nodes, `migrate-continue`;
/// 5. once completed: `nbd-server-stop` on the destination.
///
/// Every step runs through callbacks on the event loop, never waiting with the loop held, so the status line,
/// ^C and the other monitors go on. Any failure or cancel tears down what was set up (jobs cancelled, nodes
/// deleted, the NBD server stopped, pause-before-switchover as it was) and leaves the source running on its own
/// disks; the error names the step. Confined to the loop's thread, as its backend: `@unchecked Sendable` only
/// because every MigrationHandle is (the built-in engine's are read from its threads).
final class StorageMigration: MigrationHandle, @unchecked Sendable {
    /// One disk on both sides, matched by its device id.
    struct Disk: Sendable, Equatable {
        let id: String
        /// What blockdev-mirror names on the source (the device, or the node when it has none).
        let sourceDevice: String
        let destinationNode: String
        let size: UInt64
    }

    enum Phase: String {
        case exporting = "starting the NBD exports"
        case mirroring = "mirroring the disks"
        case migrating = "migrating the RAM"
        case switchingOver = "completing the mirrors"
        case finishing = "stopping the NBD server"
        case rollingBack = "undoing what was set up"
        case done
    }

    let blockMode: BlockMigrationMode
    var outlivesMonitor: Bool { true }
    private let backend: QMPBackend
    private let destination: QMPClient
    private let uri: String
    private let nbdHost: String
    private var nbdPort: Int
    private let disks: [Disk]
    private let speed: UInt64
    private let useWriteBlocking: Bool
    private let pausedBeforeSwitchover: Bool
    private let eventsWereOn: Bool
    /// The mirrors' bytes at each look over the last seconds, for their send rate.
    private var mirrored: [(bytes: UInt64, at: UInt64)] = []
    /// When `migrate` was typed: the summary's time is the whole flow's, not only the RAM's.
    private let startedAt = Clock.milliseconds()
    private(set) var phase = Phase.exporting
    private var latest = MigrationInfo()
    private var watching = QMPMigrationWatch()
    /// What was set up, so that a rollback undoes exactly that.
    private var serverStarted = false
    private var nodesAdded: [String] = []
    private var jobsStarted: [String] = []
    private var migrationStarted = false
    private var capabilityChanged = false
    /// Each mirror's progress (query-block-jobs: offset of len), by job id.
    private var progress: [String: (offset: UInt64, length: UInt64, ready: Bool)] = [:]
    private var ending: (status: MigrationStatus, error: String?)?
    /// Requests of the flow still unanswered: a rollback waits for them, so that it undoes what they did too.
    private var stepsInFlight = 0

    static let pollMilliseconds: UInt64 = 100
    /// NBD ports tried from the migration's port + 1, should one be taken.
    static let portAttempts = 16

    private init(
        backend: QMPBackend, destination: QMPClient, uri: String, host: String, port: Int, disks: [Disk],
        memory: UInt64, speed: UInt64, blockMode: BlockMigrationMode, pausedBeforeSwitchover: Bool, eventsWereOn: Bool
    ) {
        self.backend = backend
        self.destination = destination
        self.uri = uri
        nbdHost = host
        nbdPort = port
        self.disks = disks
        self.speed = speed
        self.blockMode = blockMode
        self.pausedBeforeSwitchover = pausedBeforeSwitchover
        self.eventsWereOn = eventsWereOn
        useWriteBlocking = backend.features.mirrorArguments.contains("copy-mode")
        latest.status = .setup
        latest.ram.total = memory
        latest.ram.remaining = memory
        latest.disk = MigrationInfo.DiskStatistics(transferred: 0, remaining: diskBytes, total: diskBytes)
    }

    private var diskBytes: UInt64 { disks.reduce(0) { $0 &+ $1.size } }

    // MARK: Before anything starts

    /// Checks everything that can be checked before a single change (the URI, each disk on both sides, their
    /// sizes), then starts. A refusal names what is wrong and changes nothing.
    static func start(
        backend: QMPBackend, destination: QMPClient, uri: String, incremental: Bool,
        onFinish: @escaping @Sendable (MigrationInfo) -> Void
    ) throws(BackendError) -> StorageMigration {
        guard let (host, port) = tcpHostAndPort(uri) else {
            throw BackendError(
                "migrate -b with --destination copies the disks over NBD, which needs a tcp:HOST:PORT URI, not '\(uri)'")
        }
        if backend.migrationInfo.status.isRunning {
            throw BackendError("There's a migration process in progress")
        }
        let sourceDisks = try writableDisks(backend.call("query-block"))
        guard !sourceDisks.isEmpty else {
            throw BackendError("migrate -b: the QEMU at \(backend.address) has no writable disk to copy")
        }
        let destinationDisks: [String: (node: String, size: UInt64)]
        do throws(QMPError) {
            let reply = try destination.call("query-block", timeout: QMPBackend.answerMilliseconds)
            destinationDisks = Dictionary(
                writableDisks(reply).map { ($0.id, (node: $0.node, size: $0.size)) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw BackendError("the destination QEMU at \(backend.destinationAddress.map { "\($0)" } ?? "?"): "
                + backend.describe(error, command: "query-block"))
        }
        var disks: [Disk] = []
        for disk in sourceDisks {
            guard let counterpart = destinationDisks[disk.id] else {
                throw BackendError(
                    "disk \(disk.id) has no counterpart on the destination: start the destination QEMU with a disk "
                        + "of the same id and size (\(disk.size) bytes)")
            }
            guard counterpart.size == disk.size else {
                throw BackendError(
                    "disk \(disk.id) is \(disk.size) bytes here but \(counterpart.size) on the destination: "
                        + "the destination's disk must have the same size")
            }
            disks.append(Disk(id: disk.id, sourceDevice: disk.device, destinationNode: counterpart.node, size: disk.size))
        }
        let memory = try backend.call("query-memory-size-summary").dict?["base-memory"]?.uint ?? 0
        let bandwidth = try backend.call("query-migrate-parameters").dict?["max-bandwidth"]?.uint ?? 0
        let capabilities = try backend.call("query-migrate-capabilities").list ?? []
        func isOn(_ name: String) -> Bool {
            capabilities.contains { $0.dict?["capability"]?.string == name && $0.dict?["state"]?.bool == true }
        }
        let migration = StorageMigration(
            backend: backend, destination: destination, uri: uri, host: host, port: port + 1, disks: disks,
            memory: memory, speed: bandwidth / UInt64(disks.count), blockMode: incremental ? .incremental : .full,
            pausedBeforeSwitchover: isOn("pause-before-switchover"), eventsWereOn: isOn("events"))
        migration.watching.onFinish = onFinish
        backend.storageMigration = migration
        migration.watching.timer = backend.loop.every(milliseconds: pollMilliseconds) { [migration] in migration.poll() }
        migration.watching.observer = backend.events.observe { [weak migration] event in migration?.heard(event) }
        migration.startServer(attempt: 0)
        return migration
    }

    /// `tcp:HOST:PORT` (IPv6 in brackets) as the host NBD listens on and the migration's port; a host that
    /// means this machine (`0`, empty, `localhost`) is loopback, never a wider address.
    static func tcpHostAndPort(_ uri: String) -> (String, Int)? {
        guard case .tcp(var host, let portText) = try? QEMUSocketAddress.parse(uri), let port = Int(portText),
            (1...65534).contains(port)
        else { return nil }
        if host.isEmpty || host == "0" || host == "0.0.0.0" || host == "localhost" { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        return (host, port)
    }

    /// query-block's writable disks with a medium: id (the device, else the qdev path), the name blockdev-mirror
    /// takes, the node, the size.
    private static func writableDisks(_ reply: QValue) -> [(id: String, device: String, node: String, size: UInt64)] {
        (reply.list ?? []).compactMap { entry in
            guard let entry = entry.dict, let inserted = entry["inserted"]?.dict, inserted["ro"]?.bool != true,
                let node = inserted["node-name"]?.string
            else { return nil }
            let device = entry["device"]?.string ?? ""
            let id = device.isEmpty ? (entry["qdev"]?.string ?? node) : device
            let size = inserted["image"]?.dict?["virtual-size"]?.uint ?? 0
            return (id, device.isEmpty ? node : device, node, size)
        }
    }

    // MARK: The steps

    /// False once a rollback (or the end) has begun: a step that completes then only records what it did.
    private var isGoingOn: Bool { phase != .rollingBack && phase != .done }

    private func startServer(attempt: Int) {
        let address: QDict = ["type": "inet", "data": ["host": .string(nbdHost), "port": .string(String(nbdPort))]]
        send(destination, "nbd-server-start", ["addr": .dict(address)]) {
            [self] result in
            switch result {
            case .success:
                serverStarted = true
                if isGoingOn { exportDisks(disks[...]) }
            case .failure(.command(let error)) where error.description.contains("in use") && attempt < Self.portAttempts:
                nbdPort += 1
                startServer(attempt: attempt + 1)
            case .failure(let error):
                fail("nbd-server-start on the destination", error)
            }
        }
    }

    private func exportDisks(_ left: ArraySlice<Disk>) {
        guard let disk = left.first else { return addNodes(disks[...]) }
        let arguments: QDict = [
            "type": "nbd", "id": .string("hmp-export-\(disk.id)"), "node-name": .string(disk.destinationNode),
            "name": .string(disk.id), "writable": true,
        ]
        sendStep(destination, "block-export-add", arguments, step: "block-export-add of \(disk.id) on the destination") {
            [self] in if isGoingOn { exportDisks(left.dropFirst()) }
        }
    }

    private func addNodes(_ left: ArraySlice<Disk>) {
        guard let disk = left.first else { return startMirrors(disks[...]) }
        let node = nodeName(disk)
        let server: QDict = ["type": "inet", "host": .string(nbdHost), "port": .string(String(nbdPort))]
        let arguments: QDict = ["driver": "nbd", "node-name": .string(node), "server": .dict(server), "export": .string(disk.id)]
        sendStep(backend.client, "blockdev-add", arguments, step: "blockdev-add of the NBD client for \(disk.id)") {
            [self] in
            nodesAdded.append(node)
            if isGoingOn { addNodes(left.dropFirst()) }
        }
    }

    private func startMirrors(_ left: ArraySlice<Disk>) {
        guard let disk = left.first else {
            phase = .mirroring
            latest.status = .active
            return
        }
        var arguments: QDict = [
            "job-id": .string(jobID(disk)), "device": .string(disk.sourceDevice), "target": .string(nodeName(disk)),
            "sync": .string(blockMode == .incremental ? "top" : "full"), "auto-dismiss": false,
        ]
        if speed > 0 { arguments["speed"] = .uint(speed) }
        if useWriteBlocking { arguments["copy-mode"] = "write-blocking" }
        sendStep(backend.client, "blockdev-mirror", arguments, step: "blockdev-mirror of \(disk.id)") { [self] in
            jobsStarted.append(jobID(disk))
            if isGoingOn { startMirrors(left.dropFirst()) }
        }
    }

    private func startRAM() {
        phase = .migrating
        latest.ram.mbps = 0
        // MIGRATION events tell the pause at once (each poll would add its interval to the guest's downtime).
        var capabilities: [QValue] = [["capability": "pause-before-switchover", "state": true]]
        if !eventsWereOn { capabilities.append(["capability": "events", "state": true]) }
        sendStep(backend.client, "migrate-set-capabilities", ["capabilities": .list(capabilities)],
                 step: "turning on pause-before-switchover") { [self] in
            capabilityChanged = true
            guard isGoingOn else { return }
            sendStep(backend.client, "migrate", ["uri": .string(uri), "detach": true], step: "migrate") { [self] in
                migrationStarted = true
            }
        }
    }

    /// At pre-switchover the guest is paused: each mirror is completed without pivoting (the source keeps its
    /// own disks), then the RAM migration goes on to its end.
    private func switchOver() {
        phase = .switchingOver
        cancelJobs(jobsStarted[...], force: false) { [self] in
            awaitJobsConcluded { [self] error in
                if let error { return rollback("completing the mirrors", error) }
                dismissAndDelete { [self] in
                    sendStep(backend.client, "migrate-continue", ["state": "pre-switchover"], step: "migrate-continue") {}
                }
            }
        }
    }

    // MARK: Watching

    /// QEMU's news, acted on at once: the pause before switchover (the guest is stopped while it lasts), a
    /// mirror's conclusion. The polls stay, for a QEMU whose events are late.
    private func heard(_ event: BackendEvent) {
        switch event.name {
        case "MIGRATION" where event.event.data["status"]?.string == "pre-switchover" && phase == .migrating:
            switchOver()
        case "MIGRATION" where phase == .migrating || phase == .switchingOver:
            watching.answered()
            poll()
        default:
            break
        }
    }

    private func poll() {
        guard !watching.isAsking else { return }
        switch phase {
        case .mirroring:
            askJobs { [self] jobs in
                guard phase == .mirroring else { return }
                if let failed = jobs.first(where: { $0.error != nil }) {
                    return rollback("the mirror \(failed.id)", failed.error ?? "")
                }
                if !jobsStarted.isEmpty, jobsStarted.allSatisfy({ progress[$0]?.ready == true }) { startRAM() }
            }
        case .migrating, .switchingOver:
            guard migrationStarted else { return }
            askMigration { [self] info in
                switch info.status {
                case .preSwitchover where phase == .migrating: switchOver()
                case .completed: finish(info)
                case .failed, .cancelled:
                    rollback("the RAM migration", info.errorDescription ?? info.status.rawValue, status: info.status)
                default: break
                }
            }
        default:
            break
        }
    }

    private func askJobs(_ then: @escaping ([(id: String, error: String?)]) -> Void) {
        guard watching.ask() else { return }
        backend.client.send("query-block-jobs", timeout: QMPBackend.answerMilliseconds) { [self] result in
            watching.answered()
            guard case .success(let reply) = result else { return }
            var seen: [(String, String?)] = []
            for job in ownJobs(reply) {
                let id = job["device"]?.string ?? ""
                progress[id] = (job["offset"]?.uint ?? 0, job["len"]?.uint ?? 0, job["ready"]?.bool ?? false)
                seen.append((id, job["status"]?.string == "concluded" ? job["error"]?.string ?? "it ended early" : nil))
            }
            updateDiskFigures()
            then(seen)
        }
    }

    private func askMigration(_ then: @escaping (MigrationInfo) -> Void) {
        guard watching.ask() else { return }
        backend.client.send("query-migrate", timeout: QMPBackend.answerMilliseconds) { [self] result in
            watching.answered()
            guard case .success(let reply) = result, let reply = reply.dict else { return }
            let fresh = MigrationInfo(queryMigrate: reply)
            guard fresh.status != .none else { return }
            let disk = latest.disk, status = latest.status
            latest = fresh
            latest.disk = disk
            // The end is published once the flow has cleaned up (end), so that a waiting monitor comes back to a
            // finished flow.
            if fresh.status.isFinished { latest.status = status }
            then(fresh)
        }
    }

    private func updateDiskFigures() {
        let done = progress.values.reduce(UInt64(0)) { $0 &+ min($1.offset, $1.length) }
        let left = progress.values.reduce(UInt64(0)) { $0 &+ ($1.length &- min($1.offset, $1.length)) }
        latest.disk = MigrationInfo.DiskStatistics(
            transferred: done, remaining: progress.isEmpty ? diskBytes : left, total: diskBytes)
        // While the mirrors run they are the migration's traffic: their rate is what the status line shows.
        // A rate-limited mirror moves in bursts of its buffer: the rate is taken over the last 3 s or more.
        let now = Clock.milliseconds()
        mirrored.append((done, now))
        while mirrored.count > 2, now - mirrored[1].at >= 3000 { mirrored.removeFirst() }
        if phase == .mirroring, let first = mirrored.first, now > first.at, done >= first.bytes {
            latest.ram.mbps = Double(done - first.bytes) * 8 / 1000 / Double(now - first.at)
        }
    }

    // MARK: MigrationHandle

    var info: MigrationInfo {
        backend.loop.assertInLoop()
        return latest
    }

    var unansweredMilliseconds: UInt64 { watching.unansweredMilliseconds }

    func cancel() {
        guard ending == nil, phase != .done, phase != .rollingBack else { return }
        rollback("", "", status: .cancelled)
    }

    /// The destination's QMP connection is gone: a migration that still needs it cannot go on.
    func destinationLost(_ error: QMPError) {
        guard phase == .exporting || phase == .mirroring else { return }
        rollback("the destination QEMU", backend.describe(error, command: "its QMP connection"))
    }

    /// Lines `info migrate` adds to QEMU's own while the flow runs.
    var summaryLines: [String] {
        guard phase != .done else { return [] }
        let disk = latest.disk ?? MigrationInfo.DiskStatistics()
        return [
            "storage migration over NBD (hmp): \(phase.rawValue), \(disks.count) disk(s), "
                + "\((disk.total - min(disk.total, disk.remaining)) >> 20)/\(disk.total >> 20) MiB mirrored, "
                + "NBD at \(nbdHost):\(nbdPort)",
        ]
    }

    // MARK: The end

    private func finish(_ info: MigrationInfo) {
        phase = .finishing
        var final = info
        final.totalTime = Clock.milliseconds() - startedAt
        final.disk = MigrationInfo.DiskStatistics(transferred: diskBytes, remaining: 0, total: diskBytes)
        send(destination, "nbd-server-stop", nil) { [self] _ in
            serverStarted = false
            restoreCapability { [self] in end(final) }
        }
    }

    private func fail(_ step: String, _ error: QMPError) {
        rollback(step, backend.describe(error, command: step))
    }

    /// Undoes everything that was set up, in reverse order, each step whatever the others did; then reports.
    private func rollback(_ step: String, _ reason: String, status: MigrationStatus = .failed) {
        guard phase != .rollingBack, phase != .done else { return }
        let wasMigrating = migrationStarted
        phase = .rollingBack
        ending = (status, step.isEmpty ? nil : "\(step) failed: \(reason)")
        latest.status = .cancelling
        let cancelRAM: (@escaping () -> Void) -> Void = { [self] next in
            guard wasMigrating else { return next() }
            send(backend.client, "migrate_cancel", nil) { _ in next() }
        }
        afterStepsInFlight { [self] in cancelRAM { [self] in
            cancelJobs(jobsStarted[...], force: true) { [self] in
                awaitJobsConcluded { [self] _ in
                    dismissAndDelete { [self] in
                        let stopServer: (@escaping () -> Void) -> Void = { [self] next in
                            guard serverStarted else { return next() }
                            send(destination, "nbd-server-stop", nil) { _ in next() }
                        }
                        stopServer { [self] in
                            restoreCapability { [self] in
                                var info = latest
                                info.status = ending?.status ?? .failed
                                info.errorDescription = ending?.error
                                end(info)
                            }
                        }
                    }
                }
            }
        } }
    }

    private func afterStepsInFlight(attempts: Int = 400, _ then: @escaping () -> Void) {
        guard stepsInFlight > 0, attempts > 0 else { return then() }
        backend.loop.after(milliseconds: 25) { [self] in afterStepsInFlight(attempts: attempts - 1, then) }
    }

    private func cancelJobs(_ left: ArraySlice<String>, force: Bool, then: @escaping () -> Void) {
        guard let job = left.first else { return then() }
        send(backend.client, "block-job-cancel", ["device": .string(job), "force": .bool(force)]) {
            [self] result in
            if case .failure(let error) = result, !force {
                return rollback("block-job-cancel of \(job)", backend.describe(error, command: "block-job-cancel"))
            }
            cancelJobs(left.dropFirst(), force: force, then: then)
        }
    }

    /// The jobs of query-block-jobs' reply that this flow started.
    private func ownJobs(_ reply: QValue) -> [QDict] {
        (reply.list ?? []).compactMap(\.dict).filter { jobsStarted.contains($0["device"]?.string ?? "") }
    }

    /// Polls until none of the jobs is still running; the error of one that concluded with one, if any.
    private func awaitJobsConcluded(attempts: Int = 1000, _ then: @escaping (String?) -> Void) {
        backend.client.send("query-block-jobs", timeout: QMPBackend.answerMilliseconds) { [self] result in
            let jobs = (try? result.get()).map(ownJobs) ?? []
            if jobs.allSatisfy({ $0["status"]?.string == "concluded" }) || attempts == 0 {
                return then(jobs.compactMap { $0["error"]?.string }.first)
            }
            backend.loop.after(milliseconds: 10) { [self] in awaitJobsConcluded(attempts: attempts - 1, then) }
        }
    }

    private func dismissAndDelete(_ then: @escaping () -> Void) {
        let jobs = jobsStarted, nodes = nodesAdded
        jobsStarted = []
        nodesAdded = []
        func dismiss(_ left: ArraySlice<String>) {
            guard let job = left.first else { return delete(nodes[...]) }
            send(backend.client, "block-job-dismiss", ["id": .string(job)]) { _ in dismiss(left.dropFirst()) }
        }
        func delete(_ left: ArraySlice<String>) {
            guard let node = left.first else { return then() }
            send(backend.client, "blockdev-del", ["node-name": .string(node)]) { _ in delete(left.dropFirst()) }
        }
        dismiss(jobs[...])
    }

    /// pause-before-switchover and events back as they were.
    private func restoreCapability(_ then: @escaping () -> Void) {
        guard capabilityChanged else { return then() }
        capabilityChanged = false
        var capabilities: [QValue] = []
        if !pausedBeforeSwitchover { capabilities.append(["capability": "pause-before-switchover", "state": false]) }
        if !eventsWereOn { capabilities.append(["capability": "events", "state": false]) }
        guard !capabilities.isEmpty else { return then() }
        send(backend.client, "migrate-set-capabilities", ["capabilities": .list(capabilities)]) { _ in then() }
    }

    private func end(_ info: MigrationInfo) {
        phase = .done
        latest = info
        let finish = watching.end(backend)
        if backend.storageMigration === self { backend.storageMigration = nil }
        finish?(info)
    }

    /// The job state changes of hmp's own mirrors (ready, standby, waiting, pending, ...): a dozen lines a
    /// migration that say nothing the status line does not. BLOCK_JOB_READY and BLOCK_JOB_COMPLETED still show.
    static func isStepNoise(_ event: BackendEvent) -> Bool {
        event.name == "JOB_STATUS_CHANGE" && (event.event.data["id"]?.string ?? "").hasPrefix("hmp-mirror-")
    }

    // MARK: Requests

    private func nodeName(_ disk: Disk) -> String { "hmp-nbd-\(disk.id)" }
    private func jobID(_ disk: Disk) -> String { "hmp-mirror-\(disk.id)" }

    private func send(
        _ client: QMPClient, _ command: String, _ arguments: QDict?,
        _ then: @escaping (Result<QValue, QMPError>) -> Void
    ) {
        client.send(command, arguments: arguments, timeout: QMPBackend.answerMilliseconds, completion: then)
    }

    /// A step that must succeed: its failure rolls back, naming it.
    private func sendStep(
        _ client: QMPClient, _ command: String, _ arguments: QDict?, step: String, _ then: @escaping () -> Void
    ) {
        stepsInFlight += 1
        send(client, command, arguments) { [self] result in
            stepsInFlight -= 1
            switch result {
            case .success: then()
            case .failure(let error): fail(step, error)
            }
        }
    }
}
