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
    }

    /// `info` alone lists what it can show, as `help info` does.
    static let infoList: CommandHandler = { invocation throws(CommandError) in
        for line in (try? hmpCommands.help("info")) ?? [] { invocation.session.print(line) }
    }

    static let quit: CommandHandler = { invocation throws(CommandError) in
        invocation.backend.requestQuit()
    }
}
