
/// The `info` subcommands. Their output follows QEMU 7.2's where scripts parse it (HMPFormat renders it).
enum InfoCommands {
    /// The QEMU release whose monitor and migration stream hmp reproduces.
    static let qemuVersion = "7.2.22"
    static let hmpVersion = "0.1.0"

    static let version: CommandHandler = { invocation throws(CommandError) in
        invocation.print(["\(qemuVersion) (hmp \(hmpVersion))"])
    }

    static let status: CommandHandler = { invocation throws(CommandError) in
        invocation.print([HMPFormat.status(invocation.backend.runState)])
    }

    static let name: CommandHandler = { invocation throws(CommandError) in
        invocation.print(invocation.backend.name.map { [$0] } ?? [])
    }

    static let block: CommandHandler = { invocation throws(CommandError) in
        var devices = invocation.backend.blockDevices
        if let device = invocation.arguments.string("device") {
            guard let match = devices.first(where: { $0.id == device }) else {
                throw CommandError("Device '\(device)' not found")
            }
            devices = [match]
        }
        return invocation.print(HMPFormat.blockLines(devices))
    }

    static let migrate: CommandHandler = { invocation throws(CommandError) in
        invocation.print(HMPFormat.migrationLines(invocation.backend.migrationInfo))
    }

    static let history: CommandHandler = { invocation throws(CommandError) in
        invocation.print(invocation.session.history.infoLines)
    }

    static let migrateCapabilities: CommandHandler = { invocation throws(CommandError) in
        invocation.print(HMPFormat.capabilityLines(invocation.backend.migrationCapabilities))
    }

    static let migrateParameters: CommandHandler = { invocation throws(CommandError) in
        invocation.print(HMPFormat.parameterLines(invocation.backend.migrationParameters))
    }
}
