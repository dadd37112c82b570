import Migration

/// Starting migrations and tuning them.
enum MigrationCommands {
    /// hmp_migrate: starts the migration; without -d the monitor waits for it (see CommandDispatcher).
    static let migrate: CommandHandler = { invocation throws(CommandError) in
        let arguments = invocation.arguments
        let detach = arguments.bool("detach") ?? false
        let backend = invocation.backend
        let session = invocation.session
        let watch = MigrationWatch(detached: detach)
        do throws(MigrationError) {
            let migration = try backend.migration.migrate(
                uri: arguments.string("uri") ?? "", blk: arguments.bool("blk") ?? false,
                inc: arguments.bool("inc") ?? false, machine: backend.machine,
                descriptors: { [weak backend] in backend?.takeDescriptor(named: $0) },
                onFinish: { [weak backend] info in
                    // A migration someone waits for reports through that wait; a detached one reports here.
                    guard watch.finish(), let backend else { return }
                    let failure = info.status == .failed ? MigrationStatusText.errorLine(info) : nil
                    backend.broadcast(terminal: MigrationStatusText.summary(info), plain: failure)
                })
            if !detach { session.suspension = (migration, watch) }
        } catch {
            throw CommandError(error.message)
        }
    }

    static let cancel: CommandHandler = { invocation throws(CommandError) in
        invocation.backend.migration.cancel()
    }

    static let incoming: CommandHandler = { invocation throws(CommandError) in
        do throws(MigrationError) {
            try invocation.backend.startIncoming(uri: invocation.arguments.string("uri") ?? "")
        } catch {
            throw CommandError(error.message)
        }
    }

    static let setCapability: CommandHandler = { invocation throws(CommandError) in
        let name = invocation.arguments.string("capability") ?? ""
        let on = invocation.arguments.bool("state") ?? false
        do {
            try invocation.backend.migration.setCapability(name: name, on: on)
        } catch {
            throw CommandError("\(error)")
        }
    }

    static let setParameter: CommandHandler = { invocation throws(CommandError) in
        let name = invocation.arguments.string("parameter") ?? ""
        let value = invocation.arguments.string("value") ?? ""
        do {
            try invocation.backend.migration.parameters.set(name: name, value: value)
        } catch {
            throw CommandError("\(error)")
        }
    }

    static let setSpeed: CommandHandler = { invocation throws(CommandError) in
        let bytes = UInt64(bitPattern: invocation.arguments.int("value") ?? 0)
        invocation.backend.migration.parameters.setSpeed(bytes: bytes)
    }

    static let setDowntime: CommandHandler = { invocation throws(CommandError) in
        let seconds = invocation.arguments.double("value") ?? 0
        do {
            try invocation.backend.migration.parameters.setDowntime(seconds: seconds)
        } catch {
            throw CommandError("\(error)")
        }
    }

    /// The URI schemes hmp can migrate over, offered when completing `migrate`'s uri.
    static let uriSchemes = ["exec:", "fd:", "tcp:", "unix:"]

    static let completeMigrate: @Sendable (Int, [String]) -> [String]? = { index, _ in
        index == 0 ? uriSchemes : []
    }

    static let completeCapability: @Sendable (Int, [String]) -> [String]? = { index, _ in
        index == 0 ? MigrationCapabilities.names : nil
    }

    static let completeParameter: @Sendable (Int, [String]) -> [String]? = { index, typed in
        switch index {
        case 0: return MigrationParameters.names
        case 1: return typed.first.flatMap { MigrationParameters.completionValues(for: $0) } ?? []
        default: return []
        }
    }
}
