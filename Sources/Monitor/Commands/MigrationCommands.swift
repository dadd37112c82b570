import Migration

/// Starting migrations and tuning them.
enum MigrationCommands {
    static let migrate: CommandHandler = { invocation throws(CommandError) in
        throw CommandError("this build of hmp cannot migrate yet; the migration engine is not part of it")
    }

    static let setCapability: CommandHandler = { invocation throws(CommandError) in
        let name = invocation.arguments.string("capability") ?? ""
        let on = invocation.arguments.bool("state") ?? false
        do {
            try invocation.backend.migrationCapabilities.set(
                name: name, on: on, parameters: invocation.backend.migrationParameters)
        } catch {
            throw CommandError("\(error)")
        }
    }

    static let setParameter: CommandHandler = { invocation throws(CommandError) in
        let name = invocation.arguments.string("parameter") ?? ""
        let value = invocation.arguments.string("value") ?? ""
        do {
            try invocation.backend.migrationParameters.set(name: name, value: value)
        } catch {
            throw CommandError("\(error)")
        }
    }

    static let setSpeed: CommandHandler = { invocation throws(CommandError) in
        let bytes = UInt64(bitPattern: invocation.arguments.int("value") ?? 0)
        invocation.backend.migrationParameters.setSpeed(bytes: bytes)
    }

    static let setDowntime: CommandHandler = { invocation throws(CommandError) in
        let seconds = invocation.arguments.double("value") ?? 0
        do {
            try invocation.backend.migrationParameters.setDowntime(seconds: seconds)
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
