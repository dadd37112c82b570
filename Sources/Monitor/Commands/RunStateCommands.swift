/// Pausing and resuming the guest.
enum RunStateCommands {
    static let stop: CommandHandler = { invocation throws(CommandError) in
        do throws(BackendError) {
            try invocation.backend.stop()
        } catch {
            throw CommandError(error)
        }
        return .done
    }

    static let cont: CommandHandler = { invocation throws(CommandError) in
        do throws(BackendError) {
            try invocation.backend.cont()
        } catch {
            throw CommandError(error)
        }
        return .done
    }
}
