import Glibc

/// Sends `text` on a unix socket with `descriptor` attached (SCM_RIGHTS), as HMP and QMP clients pass one for
/// getfd: written here by hand, apart from hmp's own DescriptorPassing, so that each checks the other.
public func sendPassing(_ fd: Int32, _ text: String, _ descriptor: Int32) {
    var bytes = Array(text.utf8)
    // One cmsghdr (len, level, type: 16 bytes on 64-bit Linux) and one int, padded to 8.
    var control = [UInt8](repeating: 0, count: 24)
    control.withUnsafeMutableBytes { raw in
        raw.storeBytes(of: 20, toByteOffset: 0, as: Int.self)
        raw.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)
        raw.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: 12, as: Int32.self)
        raw.storeBytes(of: descriptor, toByteOffset: 16, as: Int32.self)
    }
    bytes.withUnsafeMutableBytes { data in
        control.withUnsafeMutableBytes { controlBytes in
            var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
            withUnsafeMutablePointer(to: &vector) { vectorPointer in
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = controlBytes.baseAddress
                message.msg_controllen = controlBytes.count
                _ = sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
        }
    }
}
