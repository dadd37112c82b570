import Foundation

/// A fresh directory for one test (mkdtemp, so no two tests share one), removed with everything in it when the
/// test's scope ends.
public final class TempDir {
    public let path: String

    public init() {
        var template = Array((NSTemporaryDirectory() + "hmp-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: \(String(cString: strerror(errno)))")
        path = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// A directory `name` inside this one, made if it is not there yet (a terminal test's empty HOME); its path.
    public func directory(_ name: String) throws -> String {
        let made = file(name)
        try FileManager.default.createDirectory(atPath: made, withIntermediateDirectories: true)
        return made
    }

    /// Writes `bytes` to `name`; its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = file(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A file of `size` bytes of a pseudo-random pattern, different for each seed.
    @discardableResult
    public func patternFile(_ name: String, size: Int, seed: UInt32 = 1) -> String {
        var bytes = [UInt8](repeating: 0, count: size)
        var x = seed &* 2654435761 | 1
        for i in 0..<size {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        return write(name, bytes)
    }

    /// The bytes of the file at `path`; none when it cannot be read.
    public static func read(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }
}
