import Glibc

extension Descriptor {
    /// How much of what was written to `fd` the other end has not taken yet, and how much the kernel holds for
    /// it: SIOCOUTQ against SO_SNDBUF for a socket, FIONREAD against F_GETPIPE_SZ for a pipe. Nil for anything
    /// else, or when the descriptor cannot tell.
    public static func sendQueue(_ fd: Int32) -> (queued: UInt64, capacity: UInt64)? {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return nil }
        var queued: Int32 = 0
        var capacity: Int32 = 0
        switch status.st_mode & S_IFMT {
        case S_IFSOCK:
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard ioctl(fd, UInt(TIOCOUTQ), &queued) == 0,
                getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &capacity, &length) == 0
            else { return nil }
        case S_IFIFO:
            // F_GETPIPE_SZ: glibc declares it only under _GNU_SOURCE.
            capacity = fcntl(fd, 1032)
            guard ioctl(fd, UInt(FIONREAD), &queued) == 0, capacity > 0 else { return nil }
        default:
            return nil
        }
        return (UInt64(max(0, queued)), UInt64(max(0, capacity)))
    }
}
