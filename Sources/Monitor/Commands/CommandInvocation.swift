import HMP
import QObject

/// What a handler gets: its parsed arguments, the machine behind the monitor, the application's monitors, and
/// where to write.
struct CommandInvocation {
    let arguments: QDict
    let backend: any MonitorBackend
    let hub: MonitorHub
    let session: MonitorSession

    /// Prints `lines`, all the command has to say.
    func print(_ lines: [String]) -> CommandOutcome {
        for line in lines { session.print(line) }
        return .done
    }

    /// Runs a backend call that only succeeds or fails: its error is the command's.
    func run(_ call: @autoclosure () throws(BackendError) -> Void) throws(CommandError) -> CommandOutcome {
        do throws(BackendError) {
            try call()
        } catch {
            throw CommandError(error)
        }
        return .done
    }
}

/// A command that ran but failed; the monitor prints it as `Error: <message>`, as QEMU's hmp_handle_error does.
struct CommandError: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    init(_ error: BackendError) {
        message = error.message
    }

    var description: String { message }
}

typealias CommandHandler = @Sendable (CommandInvocation) throws(CommandError) -> CommandOutcome
typealias Command = CommandDefinition<CommandHandler>
