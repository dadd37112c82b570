import Foundation
import Machine
@testable import Migration
import MigrationModel
import Testing

/// auto-converge in the real migration thread: a guest dirtying 512 MiB/s of a 32 MiB RAM against a 32 MiB/s
/// limit gets throttled, the throttle reaches the workload, and it is gone once the migration ends.
@Suite(.serialized) struct AutoConvergeEngineTests {
    /// A running guest whose RAM the workload has already filled, so that pages go as data, not as zeros.
    func machine() throws -> Machine {
        let machine = try Machine(configuration: MachineConfiguration(
            ramSize: 32 << 20, startPaused: false,
            workload: WorkloadRates(ramBytesPerSecond: 512 << 20, diskBytesPerSecond: 0)))
        _ = waitFor(10) { (machine.workload?.ramBytesWritten ?? 0) >= 128 << 20 }
        return machine
    }

    func start(_ machine: Machine, autoConverge: Bool, parameters: MigrationParameters) throws -> OutgoingMigration {
        let migration = OutgoingMigration(
            uri: try MigrationURI(parsing: "exec:cat > /dev/null"), blockMode: .none, machine: machine,
            settings: LiveSettings(parameters), autoConverge: autoConverge, onFinish: { _ in })
        migration.start()
        return migration
    }

    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    @Test func theThrottleReachesTheWorkloadAndIsRemovedOnCancel() throws {
        let guest = try machine()
        var parameters = MigrationParameters()
        try parameters.set(name: "max-bandwidth", value: "32M")
        try parameters.set(name: "cpu-throttle-initial", value: "30")
        let migration = try start(guest, autoConverge: true, parameters: parameters)
        #expect(waitFor(15) { (guest.workload?.throttle ?? 0) > 0 }, "\(migration.info)")
        let throttle = guest.workload?.throttle ?? 0
        #expect(throttle >= 30, "it starts at cpu-throttle-initial")
        #expect(migration.info.cpuThrottlePercentage.map { $0 >= 30 } == true, "\(migration.info)")
        migration.cancel()
        #expect(waitFor(10) { migration.info.status == .cancelled })
        #expect(guest.workload?.throttle == 0, "the guest runs at full speed again")
        #expect(migration.info.cpuThrottlePercentage == nil)
        #expect(guest.runState == .running)
    }

    @Test func withoutTheCapabilityNothingIsThrottled() throws {
        let guest = try machine()
        var parameters = MigrationParameters()
        try parameters.set(name: "max-bandwidth", value: "32M")
        let migration = try start(guest, autoConverge: false, parameters: parameters)
        #expect(waitFor(10) { migration.info.pass >= 3 }, "\(migration.info)")
        #expect(guest.workload?.throttle == 0)
        #expect(migration.info.cpuThrottlePercentage == nil)
        migration.cancel()
        #expect(waitFor(10) { migration.info.status == .cancelled })
    }
}
