import Glibc
import Machine
import Testing

/// auto-converge's throttle on the built-in guest: a throttled workload writes (100 − throttle) % of its rate,
/// as a vCPU sleeps that share of each time slice, and writes at full rate again once the throttle is removed.
@Suite struct WorkloadThrottleTests {
    /// Bytes written over `seconds`.
    func written(_ workload: Workload, over seconds: Double) -> UInt64 {
        let before = workload.ramBytesWritten
        usleep(UInt32(seconds * 1_000_000))
        return workload.ramBytesWritten - before
    }

    @Test func aThrottledWorkloadWritesItsShareOfTheRate() throws {
        let ram = try GuestRAM(size: 16 << 20)
        let workload = Workload(
            rates: WorkloadRates(ramBytesPerSecond: 32 << 20, diskBytesPerSecond: 0), ram: ram, drives: [],
            mode: .running)
        defer { workload.stop() }
        let full = written(workload, over: 0.5)
        workload.setThrottle(percent: 75)
        #expect(workload.throttle == 75)
        usleep(50_000)
        let throttled = written(workload, over: 0.5)
        // A quarter of the rate, with room for a loaded machine: never near the full figure.
        #expect(throttled < full / 2, "throttled \(throttled) of \(full)")
        #expect(throttled > 0, "a throttled guest still runs")
        workload.setThrottle(percent: 0)
        usleep(50_000)
        #expect(written(workload, over: 0.5) > full / 2)
    }

    @Test func theThrottleStaysWithinQEMUsRange() throws {
        let ram = try GuestRAM(size: 1 << 20)
        let workload = Workload(
            rates: WorkloadRates(ramBytesPerSecond: 0, diskBytesPerSecond: 0), ram: ram, drives: [], mode: .stopped)
        workload.setThrottle(percent: 255)
        #expect(workload.throttle == 99)
    }
}
