import Foundation

/// Whether two files hold the same bytes.
public func sameBytes(_ a: String, _ b: String) -> Bool {
    guard let x = FileManager.default.contents(atPath: a), let y = FileManager.default.contents(atPath: b) else {
        return false
    }
    return x == y
}

/// A file of `size` random bytes (from /dev/urandom).
public func randomFile(_ path: String, size: Int) throws {
    let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    defer { try? source.close() }
    var data = Data()
    while data.count < size {
        guard let chunk = try source.read(upToCount: size - data.count), !chunk.isEmpty else { break }
        data.append(chunk)
    }
    try data.write(to: URL(fileURLWithPath: path))
}

/// A sparse file of `size` bytes, all zero.
public func sparseFile(_ path: String, size: Int) {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    _ = truncate(path, off_t(size))
}
