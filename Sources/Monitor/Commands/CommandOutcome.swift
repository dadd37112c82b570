/// What running a command left to do. Handlers return it rather than waiting themselves, so that the dispatcher
/// waits outside the command lock and the front end decides what waiting looks like.
enum CommandOutcome: Sendable {
    case done
    /// A `migrate` without -d: the monitor that typed it waits for the migration's end.
    case waitForMigration(any MigrationHandle, MigrationWatch)
}
