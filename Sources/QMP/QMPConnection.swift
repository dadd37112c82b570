public import QObject
import Glibc
import Platform

/// A client's end of one QMP connection, driven by the thread that owns it: `execute` sends a command and waits
/// for its reply, keeping the events that arrive meanwhile; `readAvailable` takes what has arrived when the
/// caller's poll loop sees the descriptor readable. No thread of its own, so replies and events stay in order.
public final class QMPConnection {
    public let descriptor: Int32
    public private(set) var greeting: QMPGreeting?
    private var splitter = JSONStreamSplitter()
    /// Events read while waiting for a reply, oldest first.
    private var events: [QMPEvent] = []
    private var nextID = 0
    private var closed = false

    /// Takes ownership of a connected stream socket.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        Descriptor.close(descriptor)
    }

    /// Connects to the server at `address`, reads its greeting and negotiates: a connection ready for commands.
    public static func open(_ address: QMPAddress, timeout milliseconds: Int32 = 10_000) throws(QMPError) -> QMPConnection {
        let connection = QMPConnection(descriptor: try address.connect(timeout: UInt64(max(0, milliseconds))))
        _ = try connection.handshake(timeout: milliseconds)
        return connection
    }

    /// Reads the greeting and negotiates capabilities (none: hmp needs no OOB).
    public func handshake(timeout milliseconds: Int32 = 10_000) throws(QMPError) -> QMPGreeting {
        while greeting == nil {
            try receive(timeout: milliseconds, waitingFor: "the QMP greeting")
        }
        _ = try execute("qmp_capabilities", timeout: milliseconds)
        return greeting!
    }

    /// Sends `command` and waits for its reply: the `return` value, or the server's error as `.command`.
    /// A negative timeout waits as long as it takes (a `migrate` to a slow peer, say).
    @discardableResult
    ///
    /// `passing`: a descriptor sent along with the request (SCM_RIGHTS, on a unix socket), for `getfd`.
    public func execute(
        _ command: String, arguments: QDict? = nil, passing descriptor: Int32? = nil, timeout: Int32 = -1
    ) throws(QMPError) -> QValue {
        nextID += 1
        let id = QValue.string("hmp-\(nextID)")
        var request = QDict()
        request["execute"] = .string(command)
        if let arguments { request["arguments"] = .dict(arguments) }
        request["id"] = id
        try send(QValue.dict(request).json + "\r\n", passing: descriptor)
        while true {
            for message in try receive(timeout: timeout, waitingFor: command) {
                switch message {
                case .success(let value, id: id): return value
                case .failure(let error, id: id): throw .command(error)
                default: continue
                }
            }
        }
    }

    /// The events that arrived since the last call, oldest first.
    public func takeEvents() -> [QMPEvent] {
        defer { events.removeAll() }
        return events
    }

    /// Reads whatever has arrived without waiting; its events join those `takeEvents` returns.
    public func readAvailable() throws(QMPError) {
        _ = try receive(timeout: 0, waitingFor: "events")
    }

    private func send(_ text: String, passing passed: Int32? = nil) throws(QMPError) {
        guard !closed else { throw .connectionClosed }
        var bytes = Array(text.utf8)
        do throws(SystemError) {
            if let passed {
                let sent = try systemCall("sendmsg") {
                    bytes.withUnsafeBytes { DescriptorPassing.send($0, with: passed, on: descriptor) }
                }
                bytes.removeFirst(sent)
            }
            var failure: SystemError?
            bytes.withUnsafeBytes { raw in
                do throws(SystemError) { try Descriptor.writeAll(descriptor, raw) } catch { failure = error }
            }
            if let failure { throw failure }
        } catch {
            closed = true
            throw error.errno == .brokenPipe || error.errno == .connectionReset ? .connectionClosed : .system(error)
        }
    }

    /// Waits up to `timeout` ms for bytes, reads them, and returns the replies they complete; events and the
    /// greeting are kept. A timeout of 0 returns at once when nothing is there.
    @discardableResult
    private func receive(timeout: Int32, waitingFor what: String) throws(QMPError) -> [QMPMessage] {
        guard !closed else { throw .connectionClosed }
        var fd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = retryingInterrupts { poll(&fd, 1, timeout) }
        switch ready {
        case .failure(let errno): throw .system(SystemError("poll", errno: errno))
        case .success(0):
            if timeout == 0 { return [] }
            throw .timedOut(what)
        case .success: break
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count: Int
        do throws(SystemError) {
            count = try Descriptor.read(descriptor, into: &buffer)
        } catch {
            closed = true
            throw error.errno == .connectionReset ? .connectionClosed : .system(error)
        }
        guard count > 0 else {
            closed = true
            throw .connectionClosed
        }
        var replies: [QMPMessage] = []
        for piece in splitter.feed(buffer[0..<count]) {
            let bytes: [UInt8]
            switch piece {
            case .text(let text): bytes = text
            case .tooLarge: throw .protocolViolation("a message larger than 64 MiB")
            case .stray: throw .protocolViolation("a string broken by a control character")
            }
            let value: QValue
            do throws(JSONError) {
                value = try QValue(json: String(decoding: bytes, as: UTF8.self))
            } catch {
                throw .protocolViolation("\(error)")
            }
            guard let message = QMPMessage(value) else { throw .protocolViolation("unexpected message \(value.json)") }
            switch message {
            case .greeting(let greeting): self.greeting = greeting
            case .event(let event): events.append(event)
            case .success, .failure: replies.append(message)
            }
        }
        return replies
    }
}
