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

    /// Serves lines until end of input or quit.
    func run() {
        dispatcher.backend.attach(session)
        defer { dispatcher.backend.detach(session) }
        session.write(MonitorApplication.banner + "\n" + MonitorApplication.prompt)
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !dispatcher.backend.isQuitting {
            guard waitForInput() else { continue }
            let n = acceptsDescriptors
                ? receive(into: &buffer)
                : buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
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
