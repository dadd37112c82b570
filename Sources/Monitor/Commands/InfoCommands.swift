
/// The `info` subcommands. Their output follows QEMU 7.2's where scripts parse it (HMPFormat renders it).
enum InfoCommands {
    /// The QEMU release whose monitor and migration stream hmp reproduces.
    static let qemuVersion = "7.2.22"
    static let hmpVersion = "0.1.0"

    static let version: CommandHandler = { invocation throws(CommandError) in
        invocation.session.print("\(qemuVersion) (hmp \(hmpVersion))")
        return .done
    }

    static let status: CommandHandler = { invocation throws(CommandError) in
        invocation.session.print(HMPFormat.status(invocation.backend.runState))
        return .done
    }

    static let name: CommandHandler = { invocation throws(CommandError) in
        if let name = invocation.backend.name { invocation.session.print(name) }
        return .done
    }

    static let block: CommandHandler = { invocation throws(CommandError) in
        var devices = invocation.backend.blockDevices
        if let device = invocation.arguments.string("device") {
            guard let match = devices.first(where: { $0.id == device }) else {
                throw CommandError("Device '\(device)' not found")
            }
            devices = [match]
        }
        for line in HMPFormat.blockLines(devices) { invocation.session.print(line) }
        return .done
    }

    static let migrate: CommandHandler = { invocation throws(CommandError) in
        for line in HMPFormat.migrationLines(invocation.backend.migrationInfo) { invocation.session.print(line) }
        return .done
    }

    static let history: CommandHandler = { invocation throws(CommandError) in
        for line in invocation.session.history.infoLines { invocation.session.print(line) }
        return .done
    }

    static let migrateCapabilities: CommandHandler = { invocation throws(CommandError) in
        for line in HMPFormat.capabilityLines(invocation.backend.migrationCapabilities) {
            invocation.session.print(line)
        }
        return .done
    }

    static let migrateParameters: CommandHandler = { invocation throws(CommandError) in
        for line in HMPFormat.parameterLines(invocation.backend.migrationParameters) {
            invocation.session.print(line)
        }
        return .done
    }
}
