import Foundation
import Glibc
@testable import Migration
import Platform

/// Runs `body` on its own thread and waits at most `seconds` for it; the result, or nil on timeout (the thread is
/// then left to finish on its own).
func onThread<T: Sendable>(within seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        box.set(body())
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return box.get()
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    // Guarded by `lock`; @unchecked because NSLock-protected state is not visible to the checker.
    private let lock = NSLock()
    private var value: T?
    func set(_ new: T) { lock.withLock { value = new } }
    func get() -> T? { lock.withLock { value } }
}

/// Reads exactly `count` bytes (fewer at EOF).
func readExactly(_ fd: Int32, _ count: Int) -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: count)
    while result.count < count {
        chunk.removeLast(chunk.count - (count - result.count))
        guard let n = try? Descriptor.read(fd, into: &chunk), n > 0 else { break }
        result += chunk[..<n]
    }
    return result
}

/// Reads to EOF.
func readToEnd(_ fd: Int32) -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        guard let n = try? Descriptor.read(fd, into: &buffer), n > 0 else { break }
        result += buffer[..<n]
    }
    return result
}

/// Deterministic test bytes.
func pattern(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 8)) }
}

/// Never cancelled.
let notCancelled: @Sendable () -> Bool = { false }

/// Runs `body` on another thread after `seconds`.
func afterDelay(_ seconds: Double, _ body: @escaping @Sendable () -> Void) {
    Thread.detachNewThread {
        usleep(UInt32(seconds * 1_000_000))
        body()
    }
}
