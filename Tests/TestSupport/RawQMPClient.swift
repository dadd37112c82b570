public import Foundation

/// A raw QMP client on a unix socket: bytes out as given, lines (QEMU's `\r\n`) in, with a deadline.
public final class RawQMPClient {
    public let fd: Int32
    private var received: [UInt8] = []

    public init(path: String, timeout: TimeInterval = 10) throws {
        fd = try connectUnix(path: path, timeout: timeout)
    }

    deinit { close(fd) }

    /// Sends all of `text`; a peer that hung up gets EPIPE, not the test a SIGPIPE.
    public func sendRaw(_ text: String) {
        sendBytes(Array(text.utf8))
    }

    /// Sends all of `bytes` (invalid UTF-8 too); false when the peer hung up before it took them all.
    @discardableResult
    public func sendBytes(_ bytes: [UInt8]) -> Bool {
        sendAll(fd, bytes)
    }

    /// Sends `text` with `descriptor` attached (SCM_RIGHTS), as a QMP client passes one for getfd.
    public func sendRaw(_ text: String, passing descriptor: Int32) {
        sendPassing(fd, text, descriptor)
    }

    /// One line, its `\r\n` checked and taken off; nil on EOF or timeout.
    public func readLine(timeout: TimeInterval = 10) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = received.firstIndex(of: 0x0A) {
                let line = Array(received[..<end])
                received.removeSubrange(...end)
                guard line.last == 0x0D else { return "MISSING CR: " + String(decoding: line, as: UTF8.self) }
                return String(decoding: line.dropLast(), as: UTF8.self)
            }
            var fds = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Date() < deadline, poll(&fds, 1, 100) >= 0 else { return nil }
            if fds.revents == 0 { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            received += buffer[0..<n]
        }
    }

    /// True when nothing arrives within `milliseconds`.
    public func isQuiet(milliseconds: Int32 = 300) -> Bool {
        guard received.isEmpty else { return false }
        var fds = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&fds, 1, milliseconds) == 0
    }

    /// Sends `text` and returns the next line that is not an event.
    public func command(_ text: String, events: inout [String]) -> String? {
        sendRaw(text)
        while let line = readLine() {
            if line.hasPrefix("{\"timestamp\"") { events.append(line) } else { return line }
        }
        return nil
    }

    public func command(_ text: String) -> String? {
        var events: [String] = []
        return command(text, events: &events)
    }

    /// Reads the greeting and negotiates.
    public func negotiate() {
        _ = readLine()
        _ = command(#"{"execute": "qmp_capabilities"}"#)
    }

    /// The reply's `return`, parsed.
    public func returned(_ text: String) -> Any? {
        var events: [String] = []
        return returned(text, events: &events)
    }

    public func returned(_ text: String, events: inout [String]) -> Any? {
        guard let line = command(text, events: &events), let data = line.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["return"]
    }
}
