import Machine
import Migration

/// The `info` subcommands. Their output follows QEMU 7.2's where scripts parse it.
enum InfoCommands {
    /// The QEMU release whose monitor and migration stream hmp reproduces.
    static let qemuVersion = "7.2.22"

    static let version: CommandHandler = { invocation throws(CommandError) in
        invocation.session.print("\(qemuVersion) (hmp \(MonitorApplication.version))")
    }

    static let status: CommandHandler = { invocation throws(CommandError) in
        invocation.session.print(invocation.backend.machine.statusText)
    }

    static let name: CommandHandler = { invocation throws(CommandError) in
        if let name = invocation.backend.machine.name { invocation.session.print(name) }
    }

    static let block: CommandHandler = { invocation throws(CommandError) in
        let machine = invocation.backend.machine
        var lines = machine.infoBlockLines()
        if let device = invocation.arguments.string("device") {
            // Each drive's lines start with its id and end before the blank line that separates drives.
            guard let start = lines.firstIndex(where: { $0.hasPrefix(device + " (#block") }) else {
                throw CommandError("Device '\(device)' not found")
            }
            lines = Array(lines[start...].prefix(while: { !$0.isEmpty }))
        }
        for line in lines { invocation.session.print(line) }
    }

    static let migrate: CommandHandler = { invocation throws(CommandError) in
        for line in invocation.backend.migration.info.infoLines() { invocation.session.print(line) }
    }

    static let history: CommandHandler = { invocation throws(CommandError) in
        for line in invocation.session.history.infoLines { invocation.session.print(line) }
    }

    static let migrateCapabilities: CommandHandler = { invocation throws(CommandError) in
        for line in invocation.backend.migration.capabilities.infoLines() { invocation.session.print(line) }
    }

    static let migrateParameters: CommandHandler = { invocation throws(CommandError) in
        for line in invocation.backend.migration.parameters.infoLines() { invocation.session.print(line) }
    }
}
