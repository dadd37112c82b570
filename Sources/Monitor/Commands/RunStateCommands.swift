/// Pausing and resuming the guest.
enum RunStateCommands {
    static let stop: CommandHandler = { invocation throws(CommandError) in
        return try invocation.run(invocation.backend.stop())
    }

    static let cont: CommandHandler = { invocation throws(CommandError) in
        return try invocation.run(invocation.backend.cont())
    }
}
