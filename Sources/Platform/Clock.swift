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

    /// Seconds, for bounded waits measured in fractions of a second.
    public static func seconds() -> Double { Double(nanoseconds()) / 1e9 }

    /// Sleeps the whole time, even across signals.
    public static func sleep(milliseconds: UInt64) {
        var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        // Each retry sleeps only what is left.
        _ = retryingInterrupts {
            defer { request = remaining }
            return nanosleep(&request, &remaining)
        }
    }
}
