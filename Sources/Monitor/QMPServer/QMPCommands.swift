import Migration
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
        case (.string, .string), (.boolean, .bool), (.integer, .int), (.integer, .uint), (.object, .dict),
            (.array, .list):
            true
        default:
            false
        }
    }
}

/// What a QMP handler gets: its checked arguments and the machine.
struct QMPCall {
    let arguments: QDict
    let backend: any MonitorBackend
    let dispatcher: CommandDispatcher
    let events: QMPEvents
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
        ["qemu": ["micro": 22, "minor": 2, "major": 7], "package": .string("hmp \(MonitorApplication.version)")]
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

    private static func backendError(_ error: BackendError) -> QMPCommandError { .generic(error.message) }

    static let table: [QMPCommand] = [
        QMPCommand(name: "qmp_capabilities", parameters: [QMPParameter("enable", .array)]) { _ in .dict(QDict()) },
        QMPCommand(name: "query-version", parameters: []) { _ in version },
        QMPCommand(name: "query-commands", parameters: []) { _ in
            .list(table.map { .dict(["name": .string($0.name)]) })
        },
        QMPCommand(name: "query-status", parameters: []) { call in
            let state = call.backend.runState
            return ["status": .string(state.rawValue), "singlestep": false, "running": .bool(state.isRunning)]
        },
        QMPCommand(name: "query-name", parameters: []) { call in
            call.backend.name.map { ["name": .string($0)] } ?? .dict(QDict())
        },
        QMPCommand(name: "query-migrate", parameters: []) { call in .dict(call.backend.migrationInfo.queryMigrateReply) },
        QMPCommand(name: "query-migrate-parameters", parameters: []) { call in
            .dict(call.backend.migrationParameters.queryParametersReply)
        },
        QMPCommand(name: "query-migrate-capabilities", parameters: []) { call in
            call.backend.migrationCapabilities.queryCapabilitiesReply
        },
        QMPCommand(
            name: "migrate",
            parameters: [QMPParameter("uri", .string, optional: false), QMPParameter("blk", .boolean),
                         QMPParameter("inc", .boolean), QMPParameter("detach", .boolean), QMPParameter("resume", .boolean)]
        ) { call throws(QMPCommandError) in
            // QMP's migrate always returns at once: the migration goes on, as detached.
            do throws(BackendError) {
                _ = try call.backend.migrate(
                    uri: call.arguments.string("uri") ?? "", blk: call.arguments.bool("blk") ?? false,
                    inc: call.arguments.bool("inc") ?? false, detach: true, onFinish: { _ in })
            } catch {
                throw backendError(error)
            }
            return .dict(QDict())
        },
        QMPCommand(name: "migrate_cancel", parameters: []) { call in
            call.backend.cancelMigration()
            return .dict(QDict())
        },
        QMPCommand(name: "migrate-incoming", parameters: [QMPParameter("uri", .string, optional: false)]) {
            call throws(QMPCommandError) in
            do throws(BackendError) {
                try call.backend.startIncoming(uri: call.arguments.string("uri") ?? "")
            } catch {
                throw backendError(error)
            }
            return .dict(QDict())
        },
        QMPCommand(name: "migrate-set-parameters", parameters: nil) { call throws(QMPCommandError) in
            try setParameters(call)
            return .dict(QDict())
        },
        QMPCommand(
            name: "migrate-set-capabilities", parameters: [QMPParameter("capabilities", .array, optional: false)]
        ) { call throws(QMPCommandError) in
            try setCapabilities(call)
            return .dict(QDict())
        },
        QMPCommand(name: "stop", parameters: []) { call in
            call.backend.stop()
            return .dict(QDict())
        },
        QMPCommand(name: "cont", parameters: []) { call throws(QMPCommandError) in
            do throws(BackendError) {
                try call.backend.cont()
            } catch {
                throw backendError(error)
            }
            return .dict(QDict())
        },
        // The session itself sends SHUTDOWN before this reply and then hangs up (QMPSession).
        QMPCommand(name: "quit", parameters: []) { call in
            call.backend.quit()
            return .dict(QDict())
        },
        QMPCommand(
            name: "human-monitor-command",
            parameters: [QMPParameter("command-line", .string, optional: false), QMPParameter("cpu-index", .integer)],
            locked: false
        ) { call in
            .string(humanMonitorCommand(call.arguments.string("command-line") ?? "", dispatcher: call.dispatcher))
        },
    ]

    static func find(_ name: String) -> QMPCommand? { table.first { $0.name == name } }

    /// Runs an HMP line through the same dispatcher and returns what it printed, lines ended by `\r\n` as
    /// QEMU's monitor ends them. A synchronous `migrate` cannot wait here: it runs detached, as QEMU's does.
    static func humanMonitorCommand(_ line: String, dispatcher: CommandDispatcher) -> String {
        let session = MonitorSession(capturing: ())
        session.migrationWaiter = { [weak session] _, watch in
            _ = watch.detach()
            session?.print("terminal does not allow synchronous migration, continuing detached")
        }
        dispatcher.execute(line, in: session)
        var text = ""
        for character in session.capturedText {
            if character == "\n" { text += "\r\n" } else { text.append(character) }
        }
        return text
    }

    private static let booleanParameters: Set<String> = ["compress-wait-thread", "cpu-throttle-tailslow", "block-incremental"]
    private static let stringParameters: Set<String> = ["tls-creds", "tls-hostname", "tls-authz", "multifd-compression"]

    /// migrate-set-parameters: every member checked for its type first, then all set at once through the same
    /// checks as migrate_set_parameter (max-bandwidth in bytes, as QMP gives it).
    private static func setParameters(_ call: QMPCall) throws(QMPCommandError) {
        var settings: [(String, String)] = []
        let known = Set(MigrationParameters.names)
        for (name, value) in call.arguments {
            guard known.contains(name) else { throw .generic("Parameter '\(name)' is unexpected") }
            if booleanParameters.contains(name) {
                guard let on = value.bool else {
                    throw .generic("Invalid parameter type for '\(name)', expected: boolean")
                }
                settings.append((name, on ? "on" : "off"))
            } else if stringParameters.contains(name) {
                guard let text = value.string else {
                    throw .generic("Invalid parameter type for '\(name)', expected: string")
                }
                settings.append((name, text))
            } else if name == "block-bitmap-mapping" {
                continue
            } else {
                switch value {
                case .uint(let n): settings.append((name, String(n)))
                case .int(let n): settings.append((name, String(UInt64(bitPattern: n))))
                default: throw .generic("Parameter '\(name)' expects uint64")
                }
            }
        }
        do throws(BackendError) {
            try call.backend.setMigrationParameters(qmp: settings)
        } catch {
            throw backendError(error)
        }
    }

    private static func setCapabilities(_ call: QMPCall) throws(QMPCommandError) {
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
        for (name, on) in settings {
            do throws(BackendError) {
                try call.backend.setMigrationCapability(name: name, on: on)
            } catch {
                throw backendError(error)
            }
        }
    }
}
