public import Foundation
import Platform

/// Writes all of `bytes` to `fd` (a blocking descriptor) through Platform's writeAll, which retries interruptions;
/// false on error.
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    do {
        try bytes.withUnsafeBytes { try Descriptor.writeAll(fd, $0) }
        return true
    } catch {
        return false
    }
}

/// Sends all of `bytes` on the socket `fd` with MSG_NOSIGNAL, so that a peer that hung up gets EPIPE, not the test
/// a SIGPIPE; false when the peer did not take them all (or a send timeout ran out).
@discardableResult
public func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let sent = bytes[offset...].withUnsafeBytes { buffer in
            retryingInterrupts { send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
        }
        guard case .success(let count) = sent, count > 0 else { return false }
        offset += count
    }
    return true
}

/// Writes all of `bytes` to `fd` unless `seconds` pass first, so that a reader that has slowed to a crawl fails
/// the test instead of hanging it. The descriptor is blocking again afterwards.
public func writeAll(_ bytes: [UInt8], to fd: Int32, within seconds: TimeInterval) -> Bool {
    Signals.ignoreBrokenPipes()
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    defer { _ = fcntl(fd, F_SETFL, flags) }
    let deadline = Date().addingTimeInterval(seconds)
    var offset = 0
    while offset < bytes.count {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return false }
        var fds = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&fds, 1, Int32(left * 1000) + 1)
        let written = bytes[offset...].withUnsafeBytes { buffer in
            retryingInterrupts { write(fd, buffer.baseAddress, buffer.count) }
        }
        switch written {
        case .success(let count): offset += count
        case .failure(let error) where error.rawValue == EAGAIN: continue
        case .failure: return false
        }
    }
    return true
}
