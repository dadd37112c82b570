import MigrationModel

/// Starting migrations and tuning them.
enum MigrationCommands {
    /// hmp_migrate: starts the migration; without -d the monitor waits for it (see CommandDispatcher).
    static let migrate: CommandHandler = { invocation throws(CommandError) in
        let arguments = invocation.arguments
        let detach = arguments.bool("detach") ?? false
        let hub = invocation.hub
        let watch = MigrationWatch(detached: detach)
        let migration: any MigrationHandle
        do throws(BackendError) {
            migration = try invocation.backend.migrate(
                uri: arguments.string("uri") ?? "", blk: arguments.bool("blk") ?? false,
                inc: arguments.bool("inc") ?? false, resume: arguments.bool("resume") ?? false, detach: detach,
                onFinish: { [weak hub, backend = invocation.backend] info in
                    // A migration someone waits for reports through that wait; a detached one reports here.
                    guard watch.finish(), let hub else { return }
                    // QEMU's migrate_fd_cleanup reports a failure on stderr, never on the monitor.
                    let failure = info.status == .failed ? info.errorDescription ?? "migration failed" : nil
                    let summary = MigrationStatusText.summary(info, runState: backend.runState)
                    hub.broadcast(terminal: summary, error: failure.map(TerminalSafeText.singleLine))
                })
        } catch {
            throw CommandError(error)
        }
        return detach ? .done : .waitForMigration(migration, watch)
    }

    static let cancel: CommandHandler = { invocation throws(CommandError) in
        invocation.backend.cancelMigration()
        return .done
    }

    static let continueMigration: CommandHandler = { invocation throws(CommandError) in
        return try invocation.run(invocation.backend.continueMigration(state: invocation.arguments.string("state") ?? ""))
    }

    static let incoming: CommandHandler = { invocation throws(CommandError) in
        return try invocation.run(invocation.backend.startIncoming(uri: invocation.arguments.string("uri") ?? ""))
    }

    static let setCapability: CommandHandler = { invocation throws(CommandError) in
        let name = invocation.arguments.string("capability") ?? ""
        let on = invocation.arguments.bool("state") ?? false
        return try invocation.run(invocation.backend.setMigrationCapability(name: name, on: on))
    }

    static let setParameter: CommandHandler = { invocation throws(CommandError) in
        let name = invocation.arguments.string("parameter") ?? ""
        let value = invocation.arguments.string("value") ?? ""
        if let warning = MigrationParameters.warning(name: name, value: value) { invocation.session.print(warning) }
        return try invocation.run(invocation.backend.setMigrationParameter(name: name, value: value))
    }

    static let setSpeed: CommandHandler = { invocation throws(CommandError) in
        let bytes = UInt64(bitPattern: invocation.arguments.int("value") ?? 0)
        return try invocation.run(invocation.backend.setMigrationSpeed(bytes: bytes))
    }

    static let setDowntime: CommandHandler = { invocation throws(CommandError) in
        let seconds = invocation.arguments.double("value") ?? 0
        return try invocation.run(invocation.backend.setMigrationDowntime(seconds: seconds))
    }

    /// The URI schemes hmp can migrate over, offered when completing `migrate`'s uri.
    static let uriSchemes = ["exec:", "fd:", "tcp:", "unix:"]

    static let completeMigrate: Command.Completer = { index, _, _ in
        index == 0 ? uriSchemes : []
    }

    static let completeCapability: Command.Completer = { index, _, source in
        index == 0 ? source.migrationCapabilities : nil
    }

    static let completeParameter: Command.Completer = { index, typed, source in
        switch index {
        case 0: return source.migrationParameters
        case 1: return typed.first.flatMap { MigrationParameters.completionValues(for: $0) } ?? []
        default: return []
        }
    }

    /// The states a migration can be paused in.
    static let completeContinue: Command.Completer = { index, _, _ in
        index == 0 ? ["pre-switchover"] : []
    }
}
