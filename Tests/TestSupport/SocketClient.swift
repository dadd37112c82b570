public import Foundation

/// A unix-socket client speaking HMP to hmp (or QEMU's own monitor), one line at a time.
public final class SocketClient {
    public let fd: Int32
    private var received = ""

    public init(path: String, timeout: TimeInterval = 10) throws {
        fd = try connectUnix(path: path, timeout: timeout)
    }

    deinit { close(fd) }

    /// Reads until the text received so far ends with a prompt, and returns what came before it.
    public func readUntilPrompt(timeout: TimeInterval = 10) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.hasSuffix("(qemu) ") {
            var fds = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Date() < deadline, poll(&fds, 1, 100) >= 0 else { return nil }
            if fds.revents == 0 { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        let answer = String(received.dropLast("(qemu) ".count))
        received = ""
        return answer
    }

    public func send(_ line: String) {
        writeAll(fd, Array((line + "\n").utf8))
    }

    /// Sends `line` with `descriptor` attached (SCM_RIGHTS), as QMP and HMP clients pass fds for getfd.
    public func send(_ line: String, passing descriptor: Int32) {
        sendPassing(fd, line + "\n", descriptor)
    }

    public func command(_ line: String, timeout: TimeInterval = 10) -> String? {
        send(line)
        return readUntilPrompt(timeout: timeout)
    }

    /// Writes every byte, blocking as long as hmp takes to read them.
    public func sendBytes(_ bytes: [UInt8]) {
        writeAll(fd, bytes)
    }
}
