/// Pausing and resuming the guest.
enum RunStateCommands {
    static let stop: CommandHandler = { invocation throws(CommandError) in
        invocation.backend.machine.stop()
    }

    static let cont: CommandHandler = { invocation throws(CommandError) in
        do {
            try invocation.backend.machine.start()
        } catch {
            throw CommandError("\(error)")
        }
    }
}
