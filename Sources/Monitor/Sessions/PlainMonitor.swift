import Glibc
import Platform

/// A monitor without line editing, for a pipe or a socket: it reads plain lines and writes plain text, with
/// neither echo nor escape sequences, but with QEMU's banner and `(qemu) ` prompts, which scripts wait for.
///
/// It lives on the event loop: each time its input is readable it runs the complete lines received, one at a
/// time. A synchronous `migrate` suspends it (QEMU's monitor_suspend): no more lines are read or run until the
/// migration ends, while every other monitor is served as before.
final class PlainMonitor {
    let input: Int32
    let session: MonitorSession
    let dispatcher: CommandDispatcher
    /// A unix-socket client may pass descriptors (SCM_RIGHTS) along with its lines, for `getfd`.
    let acceptsDescriptors: Bool
    /// Called once, on the loop, when the monitor has ended: end of input, the client gone, or hmp quitting.
    private let ended: () -> Void
    private var loop: EventLoop { dispatcher.hub.loop }
    private var source: EventLoop.SourceID?
    private var lines = LineSplitter()
    private var buffer = [UInt8](repeating: 0, count: 65536)
    /// The synchronous migration this monitor waits for, if any.
    private var waiting: SynchronousMigration?
    /// The input has ended (or failed); the lines already received still run.
    private var inputEnded = false
    private var finished = false

    init(input: Int32, session: MonitorSession, dispatcher: CommandDispatcher, acceptsDescriptors: Bool = false,
         ended: @escaping () -> Void = {}) {
        self.input = input
        self.session = session
        self.dispatcher = dispatcher
        self.acceptsDescriptors = acceptsDescriptors
        self.ended = ended
    }

    /// Greets and starts serving lines on the loop.
    func start() {
        dispatcher.hub.attach(session)
        session.write(dispatcher.banner + "\n" + CommandDispatcher.prompt)
        watchInput()
    }

    private func watchInput() {
        source = loop.watch(input, interest: { [unowned self] in
            let input: EventLoop.Events = waiting == nil ? .readable : []
            return input.union(session.client?.outputInterest ?? [])
        }) { [unowned self] events in ready(events) }
    }

    private func ready(_ events: EventLoop.Events) {
        if let client = session.client, events.contains(.writable) { client.flush() }
        if waiting != nil {
            // Suspended: only a socket client's hang-up matters now (it detaches the migration).
            if events.contains(.hangup) || session.isGone { clientLeftWhileWaiting() }
            return
        }
        guard !events.intersection([.readable, .hangup]).isEmpty else {
            if session.isGone { finish() }
            return
        }
        let received = session.receivedDescriptors.read(input, into: &buffer, passes: acceptsDescriptors)
        guard case .success(let n) = received, n > 0 else {
            inputEnded = true
            finish()
            return
        }
        buffer.withUnsafeBytes { lines.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        runLines()
    }

    /// Runs the lines received, until they are all done or one of them waits for a migration.
    private func runLines() {
        while waiting == nil, !finished, let line = lines.next() {
            switch line {
            case .text(let received):
                // The line is a C string to QEMU's readline: a NUL byte ends it.
                let line = received.firstIndex(of: "\0").map { String(received[..<$0]) } ?? received
                session.history.add(line)
                switch runUnwatched(line) {
                case .done:
                    break
                case .waitForMigration(let migration, let watch):
                    suspend(for: migration, watch)
                    return
                }
            case .tooLong:
                session.print(LineSplitter.tooLongMessage)
            }
            afterCommand()
        }
        if inputEnded { finish() }
    }

    /// Runs one line with this monitor's input out of the loop: a command that waits for a QEMU runs the loop,
    /// which must not read (or see the end of) the next lines meanwhile.
    private func runUnwatched(_ line: String) -> CommandOutcome {
        if let source {
            loop.remove(source)
            self.source = nil
        }
        let outcome = dispatcher.execute(line, in: session)
        // A socket client waiting for a migration stays watched, for its hang-up; stdin comes back on resume.
        let waitsUnwatched = if case .waitForMigration = outcome { session.client == nil } else { false }
        if source == nil, !inputEnded, !finished, !waitsUnwatched { watchInput() }
        return outcome
    }

    private func afterCommand() {
        if dispatcher.hub.isQuitting || session.isGone {
            finish()
        } else {
            session.write(CommandDispatcher.prompt)
        }
    }

    private func suspend(for migration: any MigrationHandle, _ watch: MigrationWatch) {
        let wait = SynchronousMigration(migration: migration, watch: watch, session: session, loop: loop)
        waiting = wait
        // A pipe's end (POLLHUP) would wake the loop again and again: stdin is not watched meanwhile; a socket
        // client is, for its hang-up.
        if session.client == nil, let source {
            loop.remove(source)
            self.source = nil
        }
        wait.start { [unowned self] in resume() }
    }

    private func resume() {
        waiting = nil
        if source == nil && !inputEnded { watchInput() }
        afterCommand()
        runLines()
    }

    private func clientLeftWhileWaiting() {
        waiting?.abandon()
        waiting = nil
        session.client?.drop()
        finish()
    }

    /// Ends the monitor once: no more lines, the session leaves the hub, and the owner is told.
    private func finish() {
        guard !finished else { return }
        finished = true
        waiting?.abandon()
        waiting = nil
        if let source { loop.remove(source) }
        source = nil
        dispatcher.hub.detach(session)
        ended()
    }

    /// Ends the monitor because hmp is quitting.
    func stop() {
        finish()
    }
}
