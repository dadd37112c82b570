public import MigrationModel

/// QEMU 7.2's auto-converge rule (ram.c's migration_trigger_throttle and mig_throttle_guest_down): a sync period
/// in which the guest dirtied more than throttle-trigger-threshold % of the bytes sent counts as high; every second
/// high period starts the throttle at cpu-throttle-initial or raises it by cpu-throttle-increment (with
/// cpu-throttle-tailslow, by no more than it takes to bring the dirty bytes down to the threshold), never above
/// max-cpu-throttle. Pure, so the rule is tested on its own; the migration thread feeds it and applies the result.
public struct AutoConverge: Sendable, Equatable {
    /// The parameters the rule reads, taken afresh at each period as QEMU reads them.
    public struct Parameters: Sendable, Equatable {
        public var triggerThreshold: UInt8
        public var initial: UInt8
        public var increment: UInt8
        public var tailslow: Bool
        public var maximum: UInt8

        public init(_ p: MigrationParameters) {
            triggerThreshold = p.throttleTriggerThreshold
            initial = p.cpuThrottleInitial
            increment = p.cpuThrottleIncrement
            tailslow = p.cpuThrottleTailslow
            maximum = p.maxCPUThrottle
        }
    }

    /// The throttle in force, 0 when none (cpu_throttle_get_percentage).
    public private(set) var percentage: UInt8 = 0
    /// High periods counted towards the next change (dirty_rate_high_cnt): QEMU never resets it on a low period.
    public private(set) var highPeriods = 0

    public init() {}

    /// One closed period: `dirtyBytes` newly dirtied, `transferredBytes` of RAM sent. Returns whether the
    /// throttle changed.
    public mutating func period(
        dirtyBytes: UInt64, transferredBytes: UInt64, parameters: Parameters
    ) -> Bool {
        // transferred × threshold / 100 in full width: a huge period must not trap.
        let product = transferredBytes.multipliedFullWidth(by: UInt64(parameters.triggerThreshold))
        let threshold = product.high >= 100 ? UInt64.max : UInt64(100).dividingFullWidth(product).quotient
        guard dirtyBytes > threshold else { return false }
        highPeriods += 1
        guard highPeriods >= 2 else { return false }
        highPeriods = 0
        let before = percentage
        throttleDown(dirtyBytes: dirtyBytes, threshold: threshold, parameters)
        return percentage != before
    }

    /// migration_iteration_finish's cpu_throttle_stop: the migration has ended.
    public mutating func stop() {
        percentage = 0
        highPeriods = 0
    }

    private mutating func throttleDown(dirtyBytes: UInt64, threshold: UInt64, _ p: Parameters) {
        let next: Int
        if percentage == 0 {
            next = Int(p.initial)
        } else {
            var increment = Int(p.increment)
            if p.tailslow {
                // The share of the CPU that would bring the dirty bytes down to the threshold, truncated as QEMU's
                // uint64_t assignment truncates it.
                let cpuNow = 100 - Int(percentage)
                let cpuIdeal = Int(Double(cpuNow) * (Double(threshold) / Double(dirtyBytes)))
                increment = min(max(0, cpuNow - cpuIdeal), increment)
            }
            next = min(Int(percentage) + increment, Int(p.maximum))
        }
        // cpu_throttle_set keeps the throttle within 1 to 99.
        percentage = UInt8(min(max(next, 1), 99))
    }
}
