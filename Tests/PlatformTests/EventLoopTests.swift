import Glibc
import Platform
import Synchronization
import Testing

/// The monitor's event loop: sources, posted work from other threads, timers, in the order they happen.
@Suite("EventLoop")
struct EventLoopTests {
    @Test func aReadableSourceIsDispatchedWithItsBytes() throws {
        let loop = EventLoop()
        let (r, w) = try Descriptor.pipe()
        defer { Descriptor.close(r); Descriptor.close(w) }
        var received = ""
        let source = loop.watch(r) { _ in
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = (try? Descriptor.read(r, into: &buffer)) ?? 0
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        try Descriptor.writeAll(w, "info status\n")
        loop.run { received == "info status\n" }
        loop.remove(source)
        try Descriptor.writeAll(w, "more")
        loop.runOnce(timeout: 20)
        #expect(received == "info status\n", "a removed source is not dispatched")
    }

    @Test func workPostedFromAnotherThreadRunsOnTheLoopInOrder() throws {
        let loop = EventLoop()
        let order = Mutex<[Int]>([])
        let loopThread = UInt(pthread_self())
        let onLoop = Mutex(true)
        let thread = try PlatformThread.start {
            for i in 0..<100 {
                loop.post {
                    order.withLock { $0.append(i) }
                    if UInt(pthread_self()) != loopThread { onLoop.withLock { $0 = false } }
                }
            }
        }.get()
        pthread_join(thread, nil)
        loop.run { order.withLock { $0.count } == 100 }
        #expect(order.withLock { $0 } == Array(0..<100))
        #expect(onLoop.withLock { $0 })
    }

    @Test func timersFireInDueOrderAndCancelledOnesDoNot() {
        let loop = EventLoop()
        var fired: [String] = []
        loop.after(milliseconds: 30) { fired.append("late") }
        loop.after(milliseconds: 5) { fired.append("early") }
        let cancelled = loop.after(milliseconds: 10) { fired.append("cancelled") }
        loop.cancel(cancelled)
        var ticks = 0
        var repeating: EventLoop.TimerID?
        repeating = loop.every(milliseconds: 2) {
            ticks += 1
            if ticks == 3, let repeating { loop.cancel(repeating) }
        }
        let start = Clock.milliseconds()
        loop.run { (fired.count == 2 && ticks >= 3) || Clock.milliseconds() - start > 10_000 }
        #expect(fired == ["early", "late"])
        #expect(ticks == 3)
    }

    @Test func aWakeRunsTheWakeHandlers() {
        let loop = EventLoop()
        let flag = Flag()
        var seen = false
        loop.onWake { seen = flag.value.load(ordering: .sequentiallyConsistent) }
        _ = PlatformThread.detach {
            Clock.sleep(milliseconds: 10)
            flag.value.store(true, ordering: .sequentiallyConsistent)
            loop.wake()
        }
        loop.run { seen }
        #expect(seen)
    }

    @Test func writableInterestIsAskedBeforeEveryPoll() throws {
        let loop = EventLoop()
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { Descriptor.close(fds[0]); Descriptor.close(fds[1]) }
        var pending = 3
        var writes = 0
        loop.watch(fds[0], interest: { pending > 0 ? .writable : [] }) { events in
            if events.contains(.writable) {
                pending -= 1
                writes += 1
            }
        }
        loop.run { pending == 0 }
        loop.runOnce(timeout: 20)
        #expect(writes == 3, "a source that wants nothing is not woken for POLLOUT")
    }
}

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
