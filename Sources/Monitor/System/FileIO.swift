import Glibc

/// A failed system call: which call, on what, and the system's reason.
struct SystemError: Error, CustomStringConvertible {
    let operation: String
    let errno: Int32

    init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    var reason: String { String(cString: strerror(errno)) }
    var description: String { "\(operation): \(reason)" }
}

/// Small whole-file and descriptor helpers for the monitor's own files (history, sockets); not for guest data.
enum FileIO {
    static func readWholeFile(_ path: String) throws(SystemError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open '\(path)'") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read '\(path)'")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func writeWholeFile(_ path: String, _ text: String) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("open '\(path)'") }
        defer { close(fd) }
        try writeAll(fd, text)
    }

    /// Writes every byte, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ text: String) throws(SystemError) {
        var text = text
        let result: SystemError? = text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return SystemError("write")
                }
                offset += n
            }
            return nil
        }
        if let result { throw result }
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
