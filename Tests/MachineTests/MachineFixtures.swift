import Glibc

/// Deterministic test bytes.
func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

func sleepMilliseconds(_ ms: UInt32) { usleep(ms * 1000) }
