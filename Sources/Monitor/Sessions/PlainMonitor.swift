import Glibc

/// A monitor without line editing, for a pipe or a socket: it reads plain lines and writes plain text, with
/// neither echo nor escape sequences, but with QEMU's banner and `(qemu) ` prompts, which scripts wait for.
struct PlainMonitor {
    let input: Int32
    let session: MonitorSession
    let dispatcher: CommandDispatcher
    /// When set, the monitor also wakes for it and calls `onWake` (signals, quit from another monitor).
    var wakeup: Wakeup?
    var onWake: () -> Void = {}

    /// Serves lines until end of input or quit.
    func run() {
        dispatcher.backend.attach(session)
        defer { dispatcher.backend.detach(session) }
        session.write(MonitorApplication.banner + "\n" + MonitorApplication.prompt)
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !dispatcher.backend.isQuitting {
            guard waitForInput() else { continue }
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasSuffix("\r") { line.removeLast() }
                session.history.add(line)
                dispatcher.execute(line, in: session)
                if dispatcher.backend.isQuitting { return }
                session.write(MonitorApplication.prompt)
            }
        }
    }

    /// True when input is ready; false after a wake-up or an interrupted wait.
    private func waitForInput() -> Bool {
        guard let wakeup else { return true }
        var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 2, -1) > 0 else { return false }
        if fds[1].revents != 0 {
            wakeup.drain()
            onWake()
        }
        return fds[0].revents != 0
    }
}
