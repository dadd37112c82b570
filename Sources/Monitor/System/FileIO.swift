import Glibc
import Platform

/// Small whole-file helpers for the monitor's own files (history); not for guest data.
enum FileIO {
    /// The last `keepingLast` bytes of a regular file (the whole of a smaller one). Opened without following a
    /// link and without blocking, so a FIFO or device put in its place is refused rather than waited on.
    static func readRegularFile(_ path: String, keepingLast: Int) throws(SystemError) -> String {
        let fd = try Descriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        defer { Descriptor.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw SystemError("reading \(path) (not a regular file)", errno: .invalidArgument)
        }
        if info.st_size > keepingLast { lseek(fd, off_t(Int(info.st_size) - keepingLast), SEEK_SET) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < keepingLast {
            let n = try Descriptor.read(fd, into: &chunk)
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<min(n, keepingLast - bytes.count)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` to a new file beside `path` (`path.XXXXXX`, random, created 0600 with O_EXCL by mkstemp, so
    /// never through a link or into someone else's file) and returns its name, for a rename over `path`.
    static func writeNewTemporaryFile(beside path: String, _ text: String) throws(SystemError) -> String {
        var template = Array((path + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SystemError("creating a temporary file beside \(path)") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let name = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { Descriptor.close(fd) }
        do throws(SystemError) {
            try Descriptor.writeAll(fd, text)
        } catch {
            unlink(name)
            throw error
        }
        return name
    }

    /// True when `path`'s directory is a real directory (not a link) owned by this user and closed to others, as
    /// the directories hmp keeps its state in must be; one hmp made is 0700, and one it owns with looser bits is
    /// tightened. Anything else (another user's directory, a shared one) is left alone and not written to.
    static func privateDirectory(containing path: String) -> Bool {
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid() else {
            return false
        }
        if info.st_mode & 0o077 != 0 { return chmod(directory, info.st_mode & 0o700) == 0 }
        return true
    }

    static func writeAll(_ fd: Int32, _ text: String) throws(SystemError) {
        try Descriptor.writeAll(fd, text)
    }

    static func makeDirectories(_ path: String) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            mkdir(current, 0o700)
        }
    }
}

extension FileIO {
    /// One line on stderr, prefixed as QEMU prefixes its errors with the program's name.
    static func reportError(_ message: String) {
        try? writeAll(2, "hmp: \(message)\n")
    }
}
