public import SystemPackage
import CLinux
import Glibc

/// Descriptor operations every module uses, each close-on-exec from the moment the descriptor exists, so that an
/// `exec:` command inherits nothing but its stdin, stdout and stderr, and each retrying interrupted calls.
public enum Descriptor {
    /// pipe2 with O_CLOEXEC; both ends optionally non-blocking.
    public static func pipe(nonBlocking: Bool = false) throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try systemCall("pipe") { hmp_pipe_cloexec(&fds) }
        if nonBlocking {
            setNonBlocking(fds[0], true)
            setNonBlocking(fds[1], true)
        }
        return (fds[0], fds[1])
    }

    /// A stream socket with SOCK_CLOEXEC.
    public static func socket(family: Int32) throws(SystemError) -> Int32 {
        try systemCall("socket") { Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// accept4 with SOCK_CLOEXEC. EAGAIN and the like come back as errors for the caller's loop to judge.
    public static func accept(_ listener: Int32) -> Result<Int32, Errno> {
        retryingInterrupts { hmp_accept_cloexec(listener) }
    }

    /// fcntl F_DUPFD_CLOEXEC: a new descriptor for the same file, not inherited by children.
    public static func duplicate(_ fd: Int32) throws(SystemError) -> Int32 {
        try systemCall("dup") { fcntl(fd, F_DUPFD_CLOEXEC, 3) }
    }

    /// open with O_CLOEXEC always added. `mode` applies when the file is created.
    public static func open(_ path: String, _ flags: Int32, mode: UInt32 = 0) throws(SystemError) -> Int32 {
        try systemCall("open '\(path)'") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Closes `fd` once, ignoring EINTR: Linux releases the descriptor even then, so a retry could close a
    /// descriptor another thread has just been given.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Sets or clears O_NONBLOCK.
    public static func setNonBlocking(_ fd: Int32, _ on: Bool) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// Writes every byte, across short writes and interruptions.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try systemCall("write") { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
        }
    }

    /// Writes the whole of `text`.
    public static func writeAll(_ fd: Int32, _ text: String) throws(SystemError) {
        var text = text
        try text.withUTF8 { buffer in
            Result { () throws(SystemError) in try writeAll(fd, UnsafeRawBufferPointer(buffer)) }
        }.get()
    }

    /// pread until `buffer` is full or the file ends: how many bytes were read, fewer only at end of file.
    public static func read(
        _ fd: Int32, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer
    ) throws(Errno) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = try retryingInterrupts { pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done)) }
                .get()
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// pwrite until every byte went; a write that takes nothing is EIO rather than a loop without end.
    public static func write(_ fd: Int32, at offset: UInt64, from bytes: UnsafeRawBufferPointer) throws(Errno) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = try retryingInterrupts { pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done)) }
                .get()
            if n == 0 { throw .ioError }
            done += n
        }
    }

    /// One read into the start of `buffer`, up to its count.
    public static func read(_ fd: Int32, into buffer: inout [UInt8]) throws(SystemError) -> Int {
        try systemCall("read") { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
    }
}
