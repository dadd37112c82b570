import Glibc
import Platform
import Testing

/// Descriptor.sendQueue, what tells a destination that stopped reading from a slow one: a TCP connection whose
/// peer never reads fills its queue to at least half of SO_SNDBUF; a pipe reports what sits in it; anything
/// else says nothing.
@Suite struct SendQueueTests {
    /// A connected TCP pair on 127.0.0.1: the writer, non-blocking, and the peer that never reads.
    func tcpPair() throws -> (writer: Int32, peer: Int32, listener: Int32) {
        let listener = try Descriptor.socket(family: AF_INET)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, length) } }
        _ = listen(listener, 1)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(listener, $0, &length) } }
        let writer = try Descriptor.socket(family: AF_INET)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(writer, $0, length) } }
        #expect(connected == 0)
        guard case .success(let peer) = Descriptor.accept(listener) else { throw SendQueueTestError.accept }
        return (writer, peer, listener)
    }

    enum SendQueueTestError: Error { case accept }

    @Test func aPeerThatDoesNotReadFillsTheQueue() throws {
        let (writer, peer, listener) = try tcpPair()
        defer { [writer, peer, listener].forEach(Descriptor.close) }
        let empty = try #require(Descriptor.sendQueue(writer))
        #expect(empty.queued == 0 && empty.capacity > 0)
        Descriptor.setNonBlocking(writer, true)
        let chunk = [UInt8](repeating: 7, count: 64 << 10)
        // The peer's receive buffer fills first, then ours; a bounded number of writes either way.
        for _ in 0..<4096 {
            if chunk.withUnsafeBytes({ write(writer, $0.baseAddress, $0.count) }) < 0 { break }
        }
        let full = try #require(Descriptor.sendQueue(writer))
        #expect(full.queued >= full.capacity / 2, "\(full)")
    }

    @Test func aPipeReportsWhatSitsInIt() throws {
        let (r, w) = try Descriptor.pipe()
        defer { Descriptor.close(r); Descriptor.close(w) }
        let bytes = [UInt8](repeating: 1, count: 1000)
        try bytes.withUnsafeBytes { try Descriptor.writeAll(w, $0) }
        let queue = try #require(Descriptor.sendQueue(w))
        #expect(queue.queued == 1000 && queue.capacity >= 4096, "\(queue)")
    }

    @Test func aFileSaysNothing() throws {
        let fd = try Descriptor.open("/dev/null", O_WRONLY)
        defer { Descriptor.close(fd) }
        #expect(Descriptor.sendQueue(fd) == nil)
        #expect(Descriptor.sendQueue(-1) == nil)
    }
}
