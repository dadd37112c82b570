import Migration

/// The built-in engine's migration is a handle as it is.
extension OutgoingMigration: MigrationHandle {}
