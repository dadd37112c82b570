import Machine
import Migration
import Synchronization

/// The machine a monitor drives, with the migration settings that belong to it. Commands from every monitor run
/// one at a time (`CommandDispatcher` holds its lock), so this state needs no lock of its own.
final class Backend: @unchecked Sendable {
    let machine: Machine
    var migrationParameters = MigrationParameters()
    var migrationCapabilities = MigrationCapabilities()
    private let quitRequested = Atomic<Bool>(false)
    private let wakeup: Wakeup

    init(machine: Machine, wakeup: Wakeup) {
        self.machine = machine
        self.wakeup = wakeup
    }

    /// Asks the application to end: every monitor stops reading and the main thread shuts the machine down.
    func requestQuit() {
        quitRequested.store(true, ordering: .sequentiallyConsistent)
        wakeup.wake()
    }

    var isQuitting: Bool { quitRequested.load(ordering: .sequentiallyConsistent) }
}
