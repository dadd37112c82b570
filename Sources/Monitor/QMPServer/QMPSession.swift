import Glibc
import Platform
import QMP
import QObject
import Synchronization

/// One QMP client, a source on the event loop: the greeting, capabilities negotiation, then each JSON object the
/// splitter cuts from its bytes runs as a command; replies and events go through a bounded non-blocking
/// `ClientOutput`, so a client that stops reading is dropped rather than holding anyone up.
final class QMPSession: QMPDescriptorSource, @unchecked Sendable {
    // Everything but `negotiated` (which QMPEvents reads) belongs to the loop's thread.
    let output: ClientOutput
    private let dispatcher: CommandDispatcher
    private let events: QMPEvents
    private let negotiated = Atomic<Bool>(false)
    private var ended = false
    private var source: EventLoop.SourceID?
    private var splitter = JSONStreamSplitter()
    private var buffer = [UInt8](repeating: 0, count: 65536)
    /// Called once, on the loop, when the session has ended.
    private let closed: () -> Void
    /// A unix-socket client may pass descriptors (SCM_RIGHTS) with its commands, for `getfd`: as QEMU keeps
    /// them, those of the latest message that carried any, older unclaimed ones closed.
    private let acceptsDescriptors: Bool
    private var receivedDescriptors = ReceivedDescriptors()
    /// Pieces cut from the stream and not yet handled: they wait while a large text is parsed off the loop, so
    /// that commands still run in the order sent.
    private var queued: [JSONStreamSplitter.Piece] = []
    private var queuedHead = 0
    /// True while a worker thread parses this client's large text; the client is not read meanwhile.
    private var parsing = false
    private var drainPosted = false
    /// Pieces handled in one turn of the loop before the others get theirs.
    static let piecesPerTurn = 256
    private var negotiationTimer: EventLoop.TimerID?

    /// A text this long is parsed on a thread of its own: up to 64 MiB may take seconds, which must not stop the
    /// other monitors; shorter ones parse in well under a millisecond.
    static let offloadThreshold = 64 << 10
    /// A client that has not negotiated by then is closed, so that eight silent connections cannot hold every
    /// slot. QEMU has no such timeout; its tools (libvirt, qmp-shell, qemu.qmp) negotiate right after the
    /// greeting, and a person typing into socat has ten seconds.
    static let negotiationTimeoutMilliseconds: UInt64 = 10_000

    var isNegotiated: Bool { negotiated.load(ordering: .sequentiallyConsistent) }

    /// -qmp-pretty: QEMU's indented JSON.
    private let pretty: Bool
    /// Sends one message, framed as QEMU frames it for this client.
    func send(_ message: QValue) { output.write(QMPServerProtocol.frame(message, pretty: pretty)) }

    init(
        descriptor: Int32, acceptsDescriptors: Bool, pretty: Bool = false, dispatcher: CommandDispatcher, events: QMPEvents,
        closed: @escaping () -> Void
    ) {
        output = ClientOutput(descriptor: descriptor, loop: dispatcher.hub.loop)
        self.acceptsDescriptors = acceptsDescriptors
        self.pretty = pretty
        self.dispatcher = dispatcher
        self.events = events
        self.closed = closed
    }

    /// Greets the client and serves it from the loop until it leaves, is dropped, quits, or hmp ends.
    func start() {
        events.attach(self)
        // hmp's QEMU version (7.2.22), and hmp as the package where QEMU names its distribution's build.
        send(QMPServerProtocol.greeting(version: QMPCommands.version))
        watch()
        negotiationTimer = dispatcher.hub.loop.after(milliseconds: Self.negotiationTimeoutMilliseconds) { [weak self] in
            guard let self, !self.ended, !self.isNegotiated else { return }
            self.negotiationTimer = nil
            self.reply(.generic(Self.negotiationTimeoutText), id: nil)
            self.end()
        }
    }

    static let negotiationTimeoutText =
        "No capabilities negotiation within \(negotiationTimeoutMilliseconds / 1000) s: closing the connection; "
        + "send {\"execute\": \"qmp_capabilities\"} right after the greeting"

    private func watch() {
        // Not read while pieces already cut wait their turn: what one client sent is taken in as it is handled.
        source = dispatcher.hub.loop.watch(output.descriptor, interest: { [unowned self] in
            (queuedHead < queued.count ? [] : EventLoop.Events.readable).union(output.outputInterest)
        }) { [unowned self] ready in self.ready(ready) }
    }

    private func ready(_ events: EventLoop.Events) {
        if events.contains(.writable) { output.flush() }
        if output.isDropped {
            end()
            return
        }
        guard !events.intersection([.readable, .hangup]).isEmpty, queuedHead == queued.count else { return }
        let received = receivedDescriptors.read(output.descriptor, into: &buffer, passes: acceptsDescriptors)
        guard case .success(let count) = received, count > 0 else {
            end()
            return
        }
        queued.append(contentsOf: splitter.feed(buffer[0..<count]))
        drain()
    }

    /// Handles what is queued, in order, until a large text goes to a worker or the session ends.
    private func drain() {
        var budget = Self.piecesPerTurn
        while !parsing, !ended, queuedHead < queued.count {
            if output.isDropped {
                end()
                return
            }
            guard budget > 0 else {
                // One read can hold thousands of pieces (64 KiB of bytes that are each a stray token, each with
                // its error reply): the rest waits for the loop's next turn, so the other clients are served in
                // between.
                if !drainPosted {
                    drainPosted = true
                    dispatcher.hub.loop.post { [self] in
                        drainPosted = false
                        drain()
                    }
                }
                return
            }
            budget -= 1
            let piece = queued[queuedHead]
            queuedHead += 1
            if case .text(let bytes) = piece, bytes.count >= Self.offloadThreshold {
                parseAway(bytes)
            } else {
                handle(piece)
            }
        }
        if queuedHead == queued.count {
            queued.removeAll(keepingCapacity: true)
            queuedHead = 0
        }
    }

    /// Parses `bytes` on a worker thread and handles the result back on the loop. The client's source is
    /// removed meanwhile (it is neither read nor polled, so a hang-up cannot spin the loop); events for it wait in
    /// its bounded output.
    private func parseAway(_ bytes: [UInt8]) {
        parsing = true
        if let source { dispatcher.hub.loop.remove(source) }
        source = nil
        let loop = dispatcher.hub.loop
        let started = PlatformThread.detach { [self] in
            let result = Self.parse(bytes)
            loop.post { [self] in parsed(bytes, result) }
        }
        if case .failure = started {
            // No thread to be had: parse here, as before.
            parsed(bytes, Self.parse(bytes))
        }
    }

    private func parsed(_ bytes: [UInt8], _ result: Result<QValue, JSONError>) {
        parsing = false
        guard !ended else { return }
        watch()
        handle(bytes, result)
        // The request's tree (up to millions of nodes) is freed on a worker rather than on the loop.
        PlatformThread.detach { withExtendedLifetime(result) {} }
        drain()
    }

    /// Ends the session once: what is queued (a quit's reply, say) gets a moment to go out before hanging up.
    func end() {
        guard !ended else { return }
        ended = true
        if let source { dispatcher.hub.loop.remove(source) }
        source = nil
        if let negotiationTimer { dispatcher.hub.loop.cancel(negotiationTimer) }
        negotiationTimer = nil
        queued = []
        events.detach(self)
        output.flush(forUpTo: 200)
        output.close()
        receivedDescriptors.closeAll()
        closed()
    }

    /// For `getfd`: the caller owns it.
    func takeReceivedDescriptor() -> Int32? { receivedDescriptors.take() }

    private func reply(_ value: QValue, id: QValue?) { send(QMPServerProtocol.reply(value, id: id)) }
    private func reply(_ error: QMPCommandError, id: QValue?) { send(QMPServerProtocol.reply(error, id: id)) }

    private func handle(_ piece: JSONStreamSplitter.Piece) {
        guard case .text(let bytes) = piece else {
            if let refusal = QMPServerProtocol.refusal(piece) { reply(refusal, id: nil) }
            // QEMU goes on reading after a value too large; hmp hangs up, so that a client cannot keep it busy
            // with a value it will never finish.
            if case .tooLarge = piece { end() }
            return
        }
        handle(bytes, Self.parse(bytes))
    }

    private static func parse(_ bytes: [UInt8]) -> Result<QValue, JSONError> {
        Result { () throws(JSONError) in try QValue(jsonBytes: bytes) }
    }

    private func handle(_ bytes: [UInt8], _ result: Result<QValue, JSONError>) {
        let value: QValue
        switch result {
        case .success(let parsed): value = parsed
        case .failure(let error):
            reply(QMPServerProtocol.parseError(bytes, error), id: nil)
            return
        }
        guard let request = value.dict else {
            reply(QMPServerProtocol.notAnObject, id: nil)
            return
        }
        let id = request["id"]
        do throws(QMPCommandError) {
            try run(request, id: id)
        } catch {
            reply(error, id: id)
        }
    }

    private func run(_ request: QDict, id: QValue?) throws(QMPCommandError) {
        let (name, arguments) = try QMPServerProtocol.command(of: request, negotiated: isNegotiated)
        guard let command = QMPCommands.find(name) else {
            throw QMPCommandError(class: "CommandNotFound", description: "The command \(name) has not been found")
        }
        if let parameters = command.parameters { try QMPCommands.check(arguments, against: parameters) }
        if name == QMPServerProtocol.negotiation {
            try QMPServerProtocol.negotiate(arguments)
            negotiated.store(true, ordering: .sequentiallyConsistent)
            reply(.dict(QDict()), id: id)
            return
        }
        let call = QMPCall(
            arguments: arguments, backend: dispatcher.backend, dispatcher: dispatcher, events: events,
            client: acceptsDescriptors ? self : nil)
        let result: QValue
        if command.locked {
            result = try dispatcher.withCommandLock { () throws(QMPCommandError) -> QValue in try command.handler(call) }
        } else {
            result = try command.handler(call)
        }
        // The command's events (STOP, RESUME, MIGRATION setup) come before its reply, as QEMU sends them.
        if name == "quit" {
            events.shutdown(reason: "host-qmp-quit")
            reply(result, id: id)
            dispatcher.hub.requestQuit()
            end()
            return
        }
        events.flush()
        reply(result, id: id)
    }
}
