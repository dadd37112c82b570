import Glibc
import Platform
import Testing

/// QEMU 7.2's rule for descriptors passed with SCM_RIGHTS (chardev/char-socket.c): a message that carries some
/// replaces those waiting, which are closed; getfd takes the first and closes the rest.
@Suite struct ReceivedDescriptorsTests {
    private func socketPair() -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        return (fds[0], fds[1])
    }

    private func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    private func send(_ fd: Int32, on socket: Int32) {
        _ = [UInt8(ascii: "x")].withUnsafeBytes { DescriptorPassing.send($0, with: fd, on: socket) }
    }

    @Test func theLatestMessageWinsAndGetfdTakesItsFirst() throws {
        let (a, b) = socketPair()
        defer { Descriptor.close(a); Descriptor.close(b) }
        let pipe1 = try Descriptor.pipe()
        let pipe2 = try Descriptor.pipe()
        defer { for fd in [pipe1.read, pipe1.write, pipe2.read, pipe2.write] { Descriptor.close(fd) } }
        var received = ReceivedDescriptors()
        var buffer = [UInt8](repeating: 0, count: 16)
        send(pipe1.read, on: a)
        #expect(received.read(b, into: &buffer, passes: true) == .success(1))
        send(pipe2.read, on: a)
        #expect(received.read(b, into: &buffer, passes: true) == .success(1))
        // A message without descriptors keeps what waits.
        _ = [UInt8(ascii: "y")].withUnsafeBytes { Glibc.write(a, $0.baseAddress, 1) }
        #expect(received.read(b, into: &buffer, passes: true) == .success(1))
        let first = received.take()
        let taken = try #require(first)
        defer { Descriptor.close(taken) }
        // The one taken is the second pipe's read end: what is written there arrives.
        _ = [UInt8(ascii: "z")].withUnsafeBytes { Glibc.write(pipe2.write, $0.baseAddress, 1) }
        var byte: UInt8 = 0
        #expect(Glibc.read(taken, &byte, 1) == 1 && byte == UInt8(ascii: "z"))
        #expect(received.take() == nil)
    }
}
