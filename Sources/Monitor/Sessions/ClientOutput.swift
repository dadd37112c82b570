import Glibc
import Platform
import Synchronization
import SystemPackage

/// Output to a socket client, which may stop reading or go away at any moment. Nothing that writes to a client
/// ever waits for it: each write is non-blocking, what the socket cannot take yet waits in a bounded queue that
/// the event loop flushes when poll says the socket is writable, and a client whose queue overflows is dropped.
final class ClientOutput: Sendable {
    /// What a client may leave unread before it is dropped: far more than any command prints.
    static let limit = 1 << 20
    let descriptor: Int32
    /// Woken when bytes are queued, so that the loop, asleep in poll, starts waiting for POLLOUT too.
    private let loop: EventLoop

    private struct Queue {
        var bytes: [UInt8] = []
        var start = 0
        /// Once set, writes are discarded; the descriptor may be closed (and its number reused) soon after.
        var dropped = false
        var isEmpty: Bool { start == bytes.count }
    }
    private let queue = Mutex(Queue())

    init(descriptor: Int32, loop: EventLoop) {
        self.descriptor = descriptor
        self.loop = loop
    }

    func write(_ text: String) {
        queue.withLock { queue in
            guard !queue.dropped else { return }
            let bytes = Array(text.utf8)
            let wasEmpty = queue.isEmpty
            // Only an empty queue may send at once, or the client would see the bytes out of order.
            let sent = wasEmpty ? send(bytes[...], &queue) : 0
            guard !queue.dropped, sent < bytes.count else { return }
            if queue.bytes.count - queue.start + bytes.count - sent > ClientOutput.limit {
                drop(&queue)
                return
            }
            queue.bytes.append(contentsOf: bytes[sent...])
            if wasEmpty { loop.wake() }
        }
    }

    /// Sends what is queued, as far as the socket takes it now; the loop calls it on POLLOUT.
    func flush() {
        queue.withLock { queue in
            guard !queue.dropped, !queue.isEmpty else { return }
            queue.start += send(queue.bytes[queue.start...], &queue)
            if queue.isEmpty || queue.start >= ClientOutput.limit {
                queue.bytes.removeSubrange(..<queue.start)
                queue.start = 0
            }
        }
    }

    var hasPending: Bool { queue.withLock { !$0.isEmpty } }

    /// What the loop waits for on this client besides its input: POLLOUT while bytes are queued.
    var outputInterest: EventLoop.Events { hasPending ? .writable : [] }

    /// True once the client is gone or dropped: its session ends.
    var isDropped: Bool { queue.withLock { $0.dropped } }

    /// Ends the client: the loop's poll and read see the end of input, and nothing more is written.
    func drop() {
        queue.withLock { drop(&$0) }
    }

    /// Called once when the client's session ends, after its loop source is removed; later writes are
    /// discarded, never sent to whatever descriptor reuses the number.
    func close() {
        queue.withLock { queue in
            queue.dropped = true
            queue.bytes = []
            queue.start = 0
            Descriptor.close(descriptor)
        }
    }

    /// Sends what is still queued for up to `milliseconds` (a quit's reply, a last event) before hmp hangs up.
    func flush(forUpTo milliseconds: UInt64) {
        let deadline = Clock.milliseconds() + milliseconds
        while hasPending && !isDropped && Clock.milliseconds() < deadline {
            var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&ready, 1, 20)
            flush()
        }
    }

    private func drop(_ queue: inout Queue) {
        guard !queue.dropped else { return }
        queue.dropped = true
        queue.bytes = []
        queue.start = 0
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// One non-blocking send: how many bytes went; a peer that went away drops the client.
    private func send(_ bytes: ArraySlice<UInt8>, _ queue: inout Queue) -> Int {
        let result = bytes.withUnsafeBytes { raw in
            retryingInterrupts {
                Glibc.send(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
        }
        switch result {
        case .success(let count):
            return count
        case .failure(let error) where error == .wouldBlock || error == .resourceTemporarilyUnavailable:
            return 0
        case .failure:
            drop(&queue)
            return 0
        }
    }
}
