internal import Glibc
import Platform
import Synchronization

/// A connected byte stream to the migration peer: a socket, the pipe to or from an exec: command, or an fd: descriptor.
///
/// The migration thread reads and writes the descriptor directly with blocking I/O. To cancel, another thread calls
/// shutdown(), which makes a blocked read return 0 or -1 and a blocked write fail at once without closing the
/// descriptor, so it cannot be reused under the migration thread's feet; only close(), by the owner once I/O is over,
/// releases it.
///
/// Sendable: the descriptor and child are immutable, and the closed flag that guards every use of the descriptor by
/// shutdown() and close() lives in a Mutex.
public final class MigrationChannel: Sendable {
    /// How shutdown() can wake a blocked read or write.
    enum Kind {
        /// shutdown(2).
        case socket
        /// Killing the command's process group: once no process holds the other end, read sees EOF and write EPIPE.
        case pipe(ChildProcess)
        /// An fd: descriptor: shutdown(2) if it is a socket; for a pipe or file there is no safe way to wake the
        /// migration thread without closing a descriptor it may still use, so shutdown() does nothing more.
        case descriptor
    }

    private let fd: Int32
    private let kind: Kind
    /// Closed (by close()) and shut down (by shutdown()).
    private let state = Mutex((closed: false, shutDown: false))

    /// Where the peer is, as `tcp:HOST:PORT` (numeric, IPv6 without brackets as QEMU prints it) or `unix:PATH`;
    /// nil for exec: and fd:.
    public let peerDescription: String?

    /// The descriptor to read the stream from. The same as writeDescriptor: a socket is both ways, and a pipe is the
    /// one direction exec: offers (the child's stdout when incoming, its stdin when outgoing).
    public var readDescriptor: Int32 { fd }
    /// The descriptor to write the stream to.
    public var writeDescriptor: Int32 { fd }

    /// True for the pipe to an exec: command.
    public var isCommand: Bool {
        if case .pipe = kind { return true }
        return false
    }

    init(fd: Int32, kind: Kind, peerDescription: String?) {
        self.fd = fd
        self.kind = kind
        self.peerDescription = peerDescription
    }

    deinit {
        close()
    }

    /// Wakes a read or write blocked in another thread and makes later ones fail; for migrate_cancel. Safe to call
    /// from any thread, any number of times, before or after close().
    public func shutdown() {
        let child: ChildProcess? = state.withLock { state in
            guard !state.closed, !state.shutDown else { return nil }
            state.shutDown = true
            switch kind {
            case .socket, .descriptor:
                _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
                return nil
            case .pipe(let child):
                return child
            }
        }
        child?.kill(SIGKILL)
    }

    /// Closes the stream. For exec: it then waits for the command to finish, up to 5 s (so `exec:cat > FILE` writes
    /// all of it), before killing it; after shutdown() the command is already dead. Idempotent.
    public func close() {
        let (child, wasShutDown): (ChildProcess?, Bool) = state.withLock { state in
            guard !state.closed else { return (nil, true) }
            state.closed = true
            Descriptor.close(fd)
            if case .pipe(let child) = kind { return (child, state.shutDown) }
            return (nil, state.shutDown)
        }
        child?.reap(grace: wasShutDown ? 0 : 5)
    }
}

// MARK: - Stall measurement (the status line's "destination not reading")

extension MigrationChannel {
    /// The channel's queue towards the peer, nil once closed or when the descriptor cannot tell. Measured under
    /// the same lock close() takes, so the descriptor is never one that another open has reused.
    public func sendQueue() -> (queued: UInt64, capacity: UInt64)? {
        state.withLock { state in state.closed ? nil : Descriptor.sendQueue(fd) }
    }
}
