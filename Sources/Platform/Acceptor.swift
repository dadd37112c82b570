import Glibc

/// Accepts connections on a listening socket from the event loop, handing each to `admit`; the monitor socket
/// and the QMP servers share it. A transient failure (out of descriptors or memory) rests the listener for
/// 100 ms rather than spinning on a socket that stays ready.
public final class Acceptor {
    private let listener: Int32
    private let loop: EventLoop
    private let admit: (Int32) -> Void
    private var source: EventLoop.SourceID?
    private var resting = false

    /// `listener` is made non-blocking: a client that gives up between poll and accept must not hang the loop.
    public init(listener: Int32, loop: EventLoop, admit: @escaping (Int32) -> Void) {
        self.listener = listener
        self.loop = loop
        self.admit = admit
        Descriptor.setNonBlocking(listener, true)
        source = loop.watch(listener, interest: { [unowned self] in resting ? [] : .readable }) { [unowned self] _ in
            acceptOne()
        }
    }

    /// Stops accepting; the owner closes the listener afterwards.
    public func stop() {
        if let source { loop.remove(source) }
        source = nil
    }

    private func acceptOne() {
        switch Descriptor.accept(listener) {
        case .success(let client):
            admit(client)
        case .failure(.wouldBlock), .failure(.resourceTemporarilyUnavailable), .failure(.connectionAbort):
            break
        case .failure:
            resting = true
            loop.after(milliseconds: 100) { [weak self] in self?.resting = false }
        }
    }
}
