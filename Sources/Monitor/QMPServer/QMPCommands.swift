import MigrationModel
import Platform
import QMP
import QObject

/// One QMP command's argument, checked as QEMU's QObject input visitor checks it.
struct QMPParameter: Sendable {
    enum Kind: String, Sendable {
        case string, boolean, integer, object, array
    }
    let name: String
    let kind: Kind
    let optional: Bool

    init(_ name: String, _ kind: Kind, optional: Bool = true) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }

    func accepts(_ value: QValue) -> Bool {
        switch (kind, value) {
        case (.string, .string), (.boolean, .bool), (.integer, .int), (.object, .dict), (.array, .list):
            true
        case (.integer, .uint(let n)):
            // QEMU's int64 visitor takes no value above INT64_MAX.
            n <= UInt64(Int64.max)
        default:
            false
        }
    }
}

/// The client a QMP command came from, as far as a command needs it: the descriptors it passed with
/// SCM_RIGHTS, for `getfd`.
protocol QMPDescriptorSource: AnyObject, Sendable {
    /// The descriptor QEMU's qemu_chr_fe_get_msgfd would give: the first that came with the client's latest
    /// message carrying any (the others closed), nil when none waits. The caller owns it.
    func takeReceivedDescriptor() -> Int32?
}

/// What a QMP handler gets: its checked arguments, the machine, and the client it came from.
struct QMPCall {
    let arguments: QDict
    let backend: any MonitorBackend
    let dispatcher: CommandDispatcher
    let events: QMPEvents
    /// nil for a client that cannot pass descriptors (tcp).
    var client: (any QMPDescriptorSource)? = nil

    /// Runs a backend call that only succeeds or fails: its error is the command's GenericError, its success
    /// the empty reply.
    func run(_ call: @autoclosure () throws(BackendError) -> Void) throws(QMPCommandError) -> QValue {
        do throws(BackendError) {
            try call()
        } catch {
            throw .generic(error.message)
        }
        return .dict(QDict())
    }
}

typealias QMPHandler = @Sendable (QMPCall) throws(QMPCommandError) -> QValue

/// A row of the QMP command table. `parameters` nil: the handler checks its arguments itself.
struct QMPCommand: Sendable {
    let name: String
    let parameters: [QMPParameter]?
    /// False for the few commands that run outside the command lock (human-monitor-command takes it itself).
    var locked = true
    let handler: QMPHandler
}

extension QMPCommandError {
    static func generic(_ text: String) -> QMPCommandError {
        QMPCommandError(class: "GenericError", description: text)
    }
}

enum QMPCommands {
    /// hmp's version as QEMU's query-version spells it; the package names hmp itself, not a distribution.
    static var version: QValue {
        ["qemu": ["micro": 22, "minor": 2, "major": 7], "package": .string("hmp \(InfoCommands.hmpVersion)")]
    }

    /// Checks `arguments` against `parameters` in their order (missing, wrong type), then what is left over,
    /// with QEMU's texts.
    static func check(_ arguments: QDict, against parameters: [QMPParameter]) throws(QMPCommandError) {
        for parameter in parameters {
            guard let value = arguments[parameter.name] else {
                if parameter.optional { continue }
                throw .generic("Parameter '\(parameter.name)' is missing")
            }
            guard parameter.accepts(value) else {
                throw .generic("Invalid parameter type for '\(parameter.name)', expected: \(parameter.kind.rawValue)")
            }
        }
        for key in arguments.keys where !parameters.contains(where: { $0.name == key }) {
            throw .generic("Parameter '\(key)' is unexpected")
        }
    }

    /// hmp's commands, in the order QEMU 7.2's query-commands lists them (its registration order).
    static let table: [QMPCommand] = [
        QMPCommand(name: "closefd", parameters: [QMPParameter("fdname", .string, optional: false)]) {
            call throws(QMPCommandError) in
            try call.run(call.backend.closeDescriptor(named: call.arguments.string("fdname") ?? ""))
        },
        QMPCommand(name: "getfd", parameters: [QMPParameter("fdname", .string, optional: false)], handler: getfd),
        QMPCommand(
            name: "human-monitor-command",
            parameters: [QMPParameter("command-line", .string, optional: false), QMPParameter("cpu-index", .integer)],
            locked: false
        ) { call throws(QMPCommandError) in
            // The built-in machine has one CPU, as QEMU's pc machine by default.
            if let index = call.arguments["cpu-index"], index.int != 0 {
                throw .generic("Parameter 'cpu-index' expects a CPU number")
            }
            return .string(humanMonitorCommand(call.arguments.string("command-line") ?? "", dispatcher: call.dispatcher))
        },
        QMPCommand(name: "cont", parameters: []) { call throws(QMPCommandError) in try call.run(call.backend.cont()) },
        QMPCommand(name: "stop", parameters: []) { call throws(QMPCommandError) in try call.run(call.backend.stop()) },
        QMPCommand(name: "query-name", parameters: []) { call in
            call.backend.name.map { ["name": .string($0)] } ?? .dict(QDict())
        },
        // The session itself sends SHUTDOWN before this reply and then hangs up (QMPSession).
        QMPCommand(name: "quit", parameters: []) { call throws(QMPCommandError) in try call.run(call.backend.quit()) },
        QMPCommand(name: "query-commands", parameters: []) { _ in
            .list(table.map { .dict(["name": .string($0.name)]) })
        },
        QMPCommand(name: "query-version", parameters: []) { _ in version },
        QMPCommand(name: "qmp_capabilities", parameters: [QMPParameter("enable", .array)]) { _ in .dict(QDict()) },
        QMPCommand(name: "migrate-incoming", parameters: [QMPParameter("uri", .string, optional: false)]) {
            call throws(QMPCommandError) in
            try call.run(call.backend.startIncoming(uri: call.arguments.string("uri") ?? ""))
        },
        QMPCommand(
            name: "migrate",
            parameters: [QMPParameter("uri", .string, optional: false), QMPParameter("blk", .boolean),
                         QMPParameter("inc", .boolean), QMPParameter("detach", .boolean), QMPParameter("resume", .boolean)]
        ) { call throws(QMPCommandError) in
            // QMP's migrate always returns at once: the migration goes on, as detached.
            try call.run(
                _ = call.backend.migrate(
                    uri: call.arguments.string("uri") ?? "", blk: call.arguments.bool("blk") ?? false,
                    inc: call.arguments.bool("inc") ?? false, resume: call.arguments.bool("resume") ?? false,
                    detach: true, onFinish: { _ in }))
        },
        QMPCommand(name: "migrate_cancel", parameters: []) { call throws(QMPCommandError) in
            try call.run(call.backend.cancelMigration())
        },
        QMPCommand(name: "query-migrate-parameters", parameters: []) { call in
            .dict(call.backend.migrationParameters.queryParametersReply)
        },
        QMPCommand(name: "migrate-set-parameters", parameters: nil, handler: setParameters),
        QMPCommand(name: "query-migrate-capabilities", parameters: []) { call in
            call.backend.migrationCapabilities.queryCapabilitiesReply
        },
        QMPCommand(
            name: "migrate-set-capabilities", parameters: [QMPParameter("capabilities", .array, optional: false)],
            handler: setCapabilities),
        QMPCommand(name: "query-migrate", parameters: []) { call in .dict(call.backend.migrationInfo.queryMigrateReply) },
        QMPCommand(name: "query-block", parameters: []) { call in
            .list(call.backend.blockDevices.enumerated().map { $1.queryBlockEntry(index: $0) })
        },
        QMPCommand(name: "query-status", parameters: []) { call in
            let state = call.backend.runState
            return ["status": .string(state.rawValue), "singlestep": false, "running": .bool(state.isRunning)]
        },
    ]

    static func find(_ name: String) -> QMPCommand? { table.first { $0.name == name } }

    /// Runs an HMP line through the same dispatcher and returns what it printed, lines ended by `\r\n` as
    /// QEMU's monitor ends them. A synchronous `migrate` cannot wait here: it runs detached, as QEMU's does.
    static func humanMonitorCommand(_ line: String, dispatcher: CommandDispatcher) -> String {
        let session = MonitorSession(capturing: ())
        if case .waitForMigration(_, let watch) = dispatcher.execute(line, in: session) {
            _ = watch.detach()
            session.print("terminal does not allow synchronous migration, continuing detached")
        }
        return session.capturedText.replacing("\n", with: "\r\n")
    }

    /// QEMU's qmp_getfd: the descriptor the client passed names itself `fdname`, for `migrate fd:NAME`; a name
    /// starting with a digit would read as a descriptor number, so it is refused and the descriptor closed.
    private static func getfd(_ call: QMPCall) throws(QMPCommandError) -> QValue {
        guard let descriptor = call.client?.takeReceivedDescriptor() else {
            throw .generic("No file descriptor supplied via SCM_RIGHTS")
        }
        let name = call.arguments.string("fdname") ?? ""
        if let first = name.utf8.first, first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            Descriptor.close(descriptor)
            throw .generic("Parameter 'fdname' expects a name not starting with a digit")
        }
        return try call.run(call.backend.name(descriptor: descriptor, as: name))
    }

    private static func setCapabilities(_ call: QMPCall) throws(QMPCommandError) -> QValue {
        let entries = call.arguments["capabilities"]?.list ?? []
        var settings: [(String, Bool)] = []
        for (index, entry) in entries.enumerated() {
            guard let entry = entry.dict else {
                throw .generic("Invalid parameter type for 'capabilities[\(index)]', expected: object")
            }
            guard let nameValue = entry["capability"] else {
                throw .generic("Parameter 'capabilities[\(index)].capability' is missing")
            }
            guard let name = nameValue.string else {
                throw .generic("Invalid parameter type for 'capabilities[\(index)].capability', expected: string")
            }
            guard MigrationCapabilities.names.contains(name) else {
                throw .generic("Parameter 'capability' does not accept value '\(name)'")
            }
            guard let stateValue = entry["state"] else {
                throw .generic("Parameter 'capabilities[\(index)].state' is missing")
            }
            guard let on = stateValue.bool else {
                throw .generic("Invalid parameter type for 'capabilities[\(index)].state', expected: boolean")
            }
            for key in entry.keys where key != "capability" && key != "state" {
                throw .generic("Parameter 'capabilities[\(index)].\(key)' is unexpected")
            }
            settings.append((name, on))
        }
        for (name, on) in settings { _ = try call.run(call.backend.setMigrationCapability(name: name, on: on)) }
        return .dict(QDict())
    }
}
