import Glibc

/// Descriptors a unix-socket peer passes with its bytes (SCM_RIGHTS), as QEMU's `getfd` takes them: from the HMP
/// monitor's socket and from QMP's.
public enum DescriptorPassing {
    /// One recvmsg into `buffer`: the byte count (or -1 with errno set, for `retryingInterrupts`); each descriptor
    /// that came with the bytes, close-on-exec, goes to `received`, which then owns it.
    public static func receive(from socket: Int32, into buffer: inout [UInt8], _ received: (Int32) -> Void) -> Int {
        var control = [UInt8](repeating: 0, count: 256)
        return buffer.withUnsafeMutableBytes { bytes in
            control.withUnsafeMutableBytes { controlBytes in
                withMessage(bytes.baseAddress, bytes.count, control: controlBytes) { message in
                    let n = recvmsg(socket, &message, Int32(MSG_CMSG_CLOEXEC))
                    if n >= 0 {
                        collect(UnsafeRawBufferPointer(rebasing: controlBytes[0..<message.msg_controllen]), received)
                    }
                    return n
                }
            }
        }
    }

    /// One sendmsg of `bytes` with `descriptor` attached (SCM_RIGHTS): how many bytes went (the descriptor goes
    /// with the first of them), or -1 with errno set, for `retryingInterrupts`.
    public static func send(_ bytes: UnsafeRawBufferPointer, with descriptor: Int32, on socket: Int32) -> Int {
        let header = MemoryLayout<cmsghdr>.size
        // CMSG_SPACE(sizeof(int)): the header and the descriptor, padded to 8 bytes.
        var control = [UInt8](repeating: 0, count: (header + 4 + 7) & ~7)
        return control.withUnsafeMutableBytes { controlBytes in
            controlBytes.storeBytes(of: header + 4, toByteOffset: 0, as: Int.self)
            controlBytes.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)
            controlBytes.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: 12, as: Int32.self)
            controlBytes.storeBytes(of: descriptor, toByteOffset: header, as: Int32.self)
            return withMessage(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count, control: controlBytes) {
                sendmsg(socket, &$0, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// A msghdr over one buffer and a control area, for `body`'s recvmsg or sendmsg.
    private static func withMessage(
        _ base: UnsafeMutableRawPointer?, _ count: Int, control: UnsafeMutableRawBufferPointer,
        _ body: (inout msghdr) -> Int
    ) -> Int {
        var vector = iovec(iov_base: base, iov_len: count)
        return withUnsafeMutablePointer(to: &vector) { vectorPointer in
            var message = msghdr()
            message.msg_iov = vectorPointer
            message.msg_iovlen = 1
            message.msg_control = control.baseAddress
            message.msg_controllen = control.count
            return body(&message)
        }
    }

    /// Walks the control messages as CMSG_FIRSTHDR/CMSG_NXTHDR do (a 16-byte header, data aligned to 8 bytes).
    private static func collect(_ control: UnsafeRawBufferPointer, _ received: (Int32) -> Void) {
        let header = MemoryLayout<cmsghdr>.size
        var offset = 0
        while offset + header <= control.count {
            let length = control.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = control.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
            let type = control.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
            guard length >= header, offset + length <= control.count else { return }
            if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) {
                for i in 0..<(length - header) / 4 {
                    received(control.loadUnaligned(fromByteOffset: offset + header + i * 4, as: Int32.self))
                }
            }
            offset += (length + 7) & ~7
        }
    }
}
