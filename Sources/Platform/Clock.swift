import Glibc

/// CLOCK_MONOTONIC, QEMU's rt_clock for our purposes: the workload's pacing, the migration's windows and the
/// monitor's once-a-second redraws all measure time with it.
public enum Clock {
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func milliseconds() -> UInt64 { nanoseconds() / 1_000_000 }

    /// Sleeps the whole time, even across signals.
    public static func sleep(milliseconds: UInt64) {
        var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
