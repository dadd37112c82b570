import Glibc
import Platform
import Testing

/// Descriptors close-on-exec from birth, whole reads and writes, errors that name the call, and signal watches.
@Suite(.serialized)
struct DescriptorAndSignalTests {
    @Test func descriptorsAreCloseOnExec() throws {
        let (r, w) = try Descriptor.pipe()
        defer { Descriptor.close(r); Descriptor.close(w) }
        let copy = try Descriptor.duplicate(r)
        defer { Descriptor.close(copy) }
        let socket = try Descriptor.socket(family: AF_UNIX)
        defer { Descriptor.close(socket) }
        for fd in [r, w, copy, socket] {
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "descriptor \(fd) is inherited by exec")
        }
    }

    @Test func writeAllAndReadRoundTrip() throws {
        let (r, w) = try Descriptor.pipe()
        defer { Descriptor.close(r); Descriptor.close(w) }
        try Descriptor.writeAll(w, "hello")
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = try Descriptor.read(r, into: &buffer)
        #expect(String(decoding: buffer[0..<n], as: UTF8.self) == "hello")
    }

    @Test func errorsCarryTheOperationAndStrerror() {
        #expect(throws: SystemError("open '/nonexistent/x'", errno: .noSuchFileOrDirectory)) {
            try Descriptor.open("/nonexistent/x", O_RDONLY)
        }
        #expect(SystemError("open 'x'", errno: .noSuchFileOrDirectory).description == "open 'x': No such file or directory")
        #expect(errnoText(ENOSPC) == "No space left on device")
    }

    /// Two watches both see one signal: no consumer swallows another's.
    @Test func everyWatchSeesEverySignal() {
        Signals.install()
        let wakeup = Wakeup()
        Signals.wake(wakeup)
        var first = SignalWatch()
        var second = SignalWatch()
        kill(getpid(), SIGWINCH)
        wakeup.wait(timeout: 1000)
        #expect(first.take() == .resize)
        #expect(second.take() == .resize)
        #expect(first.take().isEmpty)
    }
}

/// SIGINT sent by a process is `.interrupt`, which ends hmp even at a terminal; only the terminal driver's ^C is
/// `.typedInterrupt`. QEMU's report names the sender.
extension DescriptorAndSignalTests {
    @Test func sigintFromAProcessIsNotTheTerminalsKey() {
        Signals.install()
        let wakeup = Wakeup()
        Signals.wake(wakeup)
        var watch = SignalWatch()
        kill(getpid(), SIGINT)
        wakeup.wait(timeout: 1000)
        let arrived = watch.take()
        #expect(arrived == .interrupt)
        #expect(!arrived.isDisjoint(with: .endingAtTerminal))
        #expect(Signals.terminationReport()?.hasPrefix("terminating on signal 2 from pid \(getpid()) (") == true)
    }
}
