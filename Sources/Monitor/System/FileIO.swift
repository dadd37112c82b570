import Glibc
import Platform

/// Small whole-file helpers for the monitor's own files (history); not for guest data.
enum FileIO {
    static func readWholeFile(_ path: String) throws(SystemError) -> String {
        let fd = try Descriptor.open(path, O_RDONLY)
        defer { Descriptor.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try Descriptor.read(fd, into: &chunk)
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func writeWholeFile(_ path: String, _ text: String) throws(SystemError) {
        let fd = try Descriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        defer { Descriptor.close(fd) }
        try Descriptor.writeAll(fd, text)
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
