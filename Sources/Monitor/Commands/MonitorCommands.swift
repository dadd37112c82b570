import HMP

/// Commands about the monitor itself.
enum MonitorCommands {
    static let help: CommandHandler = { invocation throws(CommandError) in
        do throws(HMPError) {
            for line in try hmpCommands.help(invocation.arguments.string("name")) { invocation.session.print(line) }
        } catch {
            // `help foo` reports the unknown name as a parse error does, without an `Error: ` prefix.
            for line in error.lines { invocation.session.print(line) }
        }
        return .done
    }

    /// `info` alone lists what it can show, as `help info` does.
    static let infoList: CommandHandler = { invocation throws(CommandError) in
        invocation.print((try? hmpCommands.help("info")) ?? [])
    }

    /// QEMU's getfd: the first descriptor of the client's latest message that carried any gets the name.
    static let getfd: CommandHandler = { invocation throws(CommandError) in
        guard let descriptor = invocation.session.receivedDescriptors.take() else {
            throw CommandError("No file descriptor supplied via SCM_RIGHTS")
        }
        let name = invocation.arguments.string("fdname") ?? ""
        return try invocation.run(invocation.backend.name(descriptor: descriptor, as: name))
    }

    static let closefd: CommandHandler = { invocation throws(CommandError) in
        return try invocation.run(invocation.backend.closeDescriptor(named: invocation.arguments.string("fdname") ?? ""))
    }

    static let quit: CommandHandler = { invocation throws(CommandError) in
        invocation.backend.quit()
        invocation.hub.requestQuit()
        return .done
    }
}
