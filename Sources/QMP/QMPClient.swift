public import QObject
public import Platform
import Glibc

/// A client's end of one QMP connection, driven by an `EventLoop`: the loop reads the socket whenever bytes arrive,
/// hands each reply to the request it answers (matched by id) and queues each event. Nothing ever blocks the loop
/// on the peer: a request either completes later through its callback (`send`), or its caller runs the loop while
/// it waits (`call`), so every other monitor, timer and signal is served meanwhile. Every request has a deadline.
///
/// Confined to the loop's thread: every method is called there (the loop is single-threaded, and the callbacks it
/// runs are too), which is why it needs no lock.
public final class QMPClient: @unchecked Sendable {
    public let descriptor: Int32
    public let loop: EventLoop
    public private(set) var greeting: QMPGreeting?
    /// Called on the loop with the events that arrived, oldest first, in their places among the replies, outside
    /// the socket's read handler (so that a handler may make requests of its own).
    public var onEvents: (([QMPEvent]) -> Void)?
    /// Called once on the loop when the connection is lost (closed, unreadable, or not QMP).
    public var onLost: ((QMPError) -> Void)?

    /// Events held for the loop at most; beyond it the newest are dropped and counted, so that a peer that floods
    /// events costs bounded memory.
    public static let eventLimit = 4096
    /// Bytes read per turn of the loop: a peer that floods cannot starve the other sources.
    static let readChunk = 65536

    private var splitter = JSONStreamSplitter()
    private var source: EventLoop.SourceID?
    private var pending: [String: Pending] = [:]
    private var nextID = 0
    /// Replies, events and the loss of the connection, in the order they arrived, run after the read handler.
    private var deferred: [() -> Void] = []
    private var deferredScheduled = false
    private var queuedEvents = 0
    /// Events dropped because too many were waiting, reported with the next ones delivered.
    public private(set) var droppedEvents = 0
    private var failure: QMPError?
    private var buffer = [UInt8](repeating: 0, count: QMPClient.readChunk)

    private struct Pending {
        let command: String
        let timer: EventLoop.TimerID
        let completion: (Result<QValue, QMPError>) -> Void
    }

    /// Takes ownership of a connected stream socket and starts reading it on `loop`.
    public init(descriptor: Int32, loop: EventLoop) {
        self.descriptor = descriptor
        self.loop = loop
        source = loop.watch(descriptor) { [unowned self] _ in readAvailable() }
    }

    deinit {
        if let source { loop.remove(source) }
        Descriptor.close(descriptor)
    }

    /// Connects to the server at `address`, reads its greeting and negotiates (no capabilities: hmp needs no OOB).
    /// `stopWaiting`: asked while it waits, as for `call`.
    public static func open(
        _ address: QMPAddress, loop: EventLoop, timeout milliseconds: UInt64 = 10_000,
        stopWaiting: (() -> String?)? = nil
    ) throws(QMPError) -> QMPClient {
        let client = QMPClient(descriptor: try address.connect(timeout: milliseconds), loop: loop)
        try client.handshake(timeout: milliseconds, stopWaiting: stopWaiting)
        return client
    }

    /// Waits for the greeting, then negotiates.
    public func handshake(timeout milliseconds: UInt64 = 10_000, stopWaiting: (() -> String?)? = nil) throws(QMPError) {
        let deadline = Clock.milliseconds() + milliseconds
        while greeting == nil {
            if let failure { throw failure }
            if Clock.milliseconds() >= deadline { throw .timedOut("the QMP greeting", seconds: milliseconds / 1000) }
            if let reason = stopWaiting?() { throw .abandoned(reason) }
            loop.runOnce(timeout: Int32(clamping: min(100, deadline - min(deadline, Clock.milliseconds()))))
        }
        _ = try call("qmp_capabilities", timeout: milliseconds, stopWaiting: stopWaiting)
    }

    /// Sends `command`; `completion` runs once on the loop with its `return` value, the server's error as
    /// `.command`, `.timedOut` after `timeout` ms, or the connection's loss.
    /// `passing`: a descriptor sent along with the request (SCM_RIGHTS, on a unix socket), for `getfd`.
    @discardableResult
    public func send(
        _ command: String, arguments: QDict? = nil, passing passed: Int32? = nil, timeout milliseconds: UInt64,
        completion: @escaping (Result<QValue, QMPError>) -> Void
    ) -> String? {
        if let failure {
            completion(.failure(failure))
            return nil
        }
        nextID += 1
        let id = "hmp-\(nextID)"
        var request = QDict()
        request["execute"] = .string(command)
        if let arguments { request["arguments"] = .dict(arguments) }
        request["id"] = .string(id)
        do throws(QMPError) {
            try write(QValue.dict(request).json + "\r\n", passing: passed)
        } catch {
            completion(.failure(error))
            return nil
        }
        let timer = loop.after(milliseconds: milliseconds) { [unowned self] in
            // A reply that comes after this is dropped: its id is no longer pending.
            pending.removeValue(forKey: id)?.completion(.failure(.timedOut(command, seconds: milliseconds / 1000)))
        }
        pending[id] = Pending(command: command, timer: timer, completion: completion)
        return id
    }

    /// Sends `command` and runs the loop until its reply, its deadline, or a reason to stop waiting: `stopWaiting`
    /// is asked after every turn of the loop (hmp quitting, ^C) and its answer becomes `.abandoned`.
    @discardableResult
    public func call(
        _ command: String, arguments: QDict? = nil, passing passed: Int32? = nil, timeout milliseconds: UInt64 = 10_000,
        stopWaiting: (() -> String?)? = nil
    ) throws(QMPError) -> QValue {
        var outcome: Result<QValue, QMPError>?
        let id = send(command, arguments: arguments, passing: passed, timeout: milliseconds) { outcome = $0 }
        while outcome == nil {
            if let reason = stopWaiting?() {
                // Only this request is given up; its late reply will be dropped.
                if let id, let request = pending.removeValue(forKey: id) { loop.cancel(request.timer) }
                throw .abandoned(reason)
            }
            loop.runOnce(timeout: 100)
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error): throw error
        case nil: throw .abandoned("interrupted")
        }
    }

    /// Stops reading: every request still waiting fails with `.connectionClosed`.
    public func close() {
        fail(.connectionClosed, tellOwner: false)
    }

    // MARK: Reading

    private func readAvailable() {
        guard failure == nil else { return }
        let count: Int
        do throws(SystemError) {
            count = try Descriptor.read(descriptor, into: &buffer)
        } catch {
            fail(error.errno == .connectionReset ? .connectionClosed : .system(error))
            return
        }
        guard count > 0 else {
            fail(.connectionClosed)
            return
        }
        for piece in splitter.feed(buffer[0..<count]) {
            let bytes: [UInt8]
            switch piece {
            case .text(let text): bytes = text
            case .tooLarge:
                fail(.protocolViolation("a message larger than \(JSONStreamSplitter.defaultLimit >> 20) MiB"))
                return
            case .stray:
                fail(.protocolViolation("a string broken by a control character"))
                return
            }
            let value: QValue
            do throws(JSONError) {
                value = try QValue(json: String(decoding: bytes, as: UTF8.self))
            } catch {
                fail(.protocolViolation("\(error)"))
                return
            }
            guard let message = QMPMessage(value) else {
                fail(.protocolViolation("a message that is neither a reply nor an event"))
                return
            }
            switch message {
            case .greeting(let greeting): self.greeting = greeting
            case .event(let event): queue(event)
            case .success(let value, let id): complete(id, .success(value))
            case .failure(let error, nil) where greeting == nil:
                // A server that turns the client away (a full hmp, say) says why instead of greeting it.
                fail(.command(error))
                return
            case .failure(let error, let id): complete(id, .failure(.command(error)))
            }
        }
    }

    private func complete(_ id: QValue?, _ result: Result<QValue, QMPError>) {
        // Replies to requests that timed out, or that carry ids hmp never sent, are dropped.
        guard let key = id?.string, let request = pending.removeValue(forKey: key) else { return }
        loop.cancel(request.timer)
        later { request.completion(result) }
    }

    private func queue(_ event: QMPEvent) {
        guard queuedEvents < Self.eventLimit else {
            droppedEvents += 1
            return
        }
        queuedEvents += 1
        later { [unowned self] in onEvents?([event]) }
    }

    /// Runs `action` outside the socket's read handler, so that it may make requests of its own (the loop does
    /// not read a source whose handler is running), after everything that arrived before it.
    private func later(_ action: @escaping () -> Void) {
        deferred.append(action)
        guard !deferredScheduled else { return }
        deferredScheduled = true
        loop.after(milliseconds: 0) { [unowned self] in
            deferredScheduled = false
            let actions = deferred
            deferred.removeAll()
            queuedEvents = 0
            for action in actions { action() }
        }
    }

    // MARK: Failure

    private func fail(_ error: QMPError, tellOwner: Bool = true) {
        guard failure == nil else { return }
        failure = error
        if let source { loop.remove(source) }
        source = nil
        let waiting = pending
        pending.removeAll()
        for request in waiting.values {
            loop.cancel(request.timer)
            later { request.completion(.failure(error)) }
        }
        if tellOwner { later { [unowned self] in onLost?(error) } }
    }

    private func write(_ text: String, passing passed: Int32?) throws(QMPError) {
        var bytes = Array(text.utf8)
        do throws(SystemError) {
            if let passed {
                let sent = try systemCall("sendmsg") {
                    bytes.withUnsafeBytes { DescriptorPassing.send($0, with: passed, on: descriptor) }
                }
                bytes.removeFirst(sent)
            }
            try bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) in try Descriptor.writeAll(descriptor, raw) }
            }.get()
        } catch {
            let lost: QMPError =
                error.errno == .brokenPipe || error.errno == .connectionReset ? .connectionClosed : .system(error)
            fail(lost)
            throw lost
        }
    }
}
