import QMP

/// Something that happened to the machine a monitor drives, in QMP's words (name, data, the moment it happened):
/// what `-qmp` clients receive, the terminal shows, and a waiting `migrate` watches.
struct BackendEvent: Sendable, Equatable {
    let event: QMPEvent
    /// A QEMU sent it (shown at the terminal); else the built-in machine made it.
    let fromQEMU: Bool
    /// MIGRATION and MIGRATION_PASS of the built-in machine: QEMU sends them only while the `events` capability is
    /// on (a QEMU filters its own).
    let needsEventsCapability: Bool

    init(_ event: QMPEvent, fromQEMU: Bool, needsEventsCapability: Bool = false) {
        self.event = event
        self.fromQEMU = fromQEMU
        self.needsEventsCapability = needsEventsCapability
    }

    var name: String { event.name }
}
