import Glibc
import Platform

/// A monitor without line editing, for a pipe or a socket: it reads plain lines and writes plain text, with
/// neither echo nor escape sequences, but with QEMU's banner and `(qemu) ` prompts, which scripts wait for.
struct PlainMonitor {
    let input: Int32
    let session: MonitorSession
    let dispatcher: CommandDispatcher
    /// A unix-socket client may pass descriptors (SCM_RIGHTS) along with its lines, for `getfd`.
    var acceptsDescriptors = false
    /// When set, the monitor also wakes for it and calls `onWake` (signals, quit from another monitor).
    var wakeup: Wakeup?
    var onWake: () -> Void = {}

    /// Serves lines until end of input, quit, or (a socket client) the client going away.
    func run() {
        dispatcher.hub.attach(session)
        defer { dispatcher.hub.detach(session) }
        session.write(dispatcher.banner + "\n" + MonitorApplication.prompt)
        var lines = LineSplitter()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !dispatcher.hub.isQuitting && !session.isGone {
            guard waitForInput() else { continue }
            let received = retryingInterrupts {
                acceptsDescriptors
                    ? receive(into: &buffer)
                    : buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            }
            guard case .success(let n) = received, n > 0 else { break }
            buffer.withUnsafeBytes { lines.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            while let line = lines.next() {
                switch line {
                case .text(let line):
                    session.history.add(line)
                    dispatcher.execute(line, in: session)
                case .tooLong:
                    session.print(LineSplitter.tooLongMessage)
                }
                if dispatcher.hub.isQuitting || session.isGone { return }
                session.write(MonitorApplication.prompt)
            }
        }
    }

    /// recvmsg: the bytes into `buffer`, and any descriptors that came with them into the session.
    private func receive(into buffer: inout [UInt8]) -> Int {
        var control = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { bytes in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let n = recvmsg(input, &message, Int32(MSG_CMSG_CLOEXEC))
                    if n >= 0 { collectDescriptors(UnsafeRawBufferPointer(rebasing: controlBytes[0..<message.msg_controllen])) }
                    return n
                }
            }
        }
        return n
    }

    /// Walks the control messages as CMSG_FIRSTHDR/CMSG_NXTHDR do (a 16-byte header, data aligned to 8 bytes).
    private func collectDescriptors(_ control: UnsafeRawBufferPointer) {
        let header = MemoryLayout<cmsghdr>.size
        var offset = 0
        while offset + header <= control.count {
            let length = control.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = control.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
            let type = control.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
            guard length >= header, offset + length <= control.count else { return }
            if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) {
                for i in 0..<(length - header) / 4 {
                    session.receivedDescriptors.append(
                        control.loadUnaligned(fromByteOffset: offset + header + i * 4, as: Int32.self))
                }
            }
            offset += (length + 7) & ~7
        }
    }

    /// True when input is ready (or has ended); false after a wake-up or an interrupted wait. A socket client's
    /// queued output is flushed here as the socket takes it.
    private func waitForInput() -> Bool {
        let client = session.client
        let output = client?.hasPending == true ? Int16(POLLOUT) : 0
        var fds = [pollfd(fd: input, events: Int16(POLLIN) | output, revents: 0)]
        if let wakeup { fds.append(pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)) }
        if let client { fds.append(pollfd(fd: client.wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)) }
        guard poll(&fds, nfds_t(fds.count), -1) > 0 else { return false }
        if let client, fds[0].revents & Int16(POLLOUT) != 0 || fds[fds.count - 1].revents != 0 { client.flush() }
        if let wakeup, fds[1].revents != 0 {
            wakeup.drain()
            onWake()
        }
        return fds[0].revents & ~Int16(POLLOUT) != 0
    }
}
