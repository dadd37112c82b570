// A stream-loader fuzz target's scratch directory (its drive images), compiled into both loader targets.
import Glibc

/// A new directory `/tmp/PREFIX-XXXXXX`, removed with its files when the run ends: libFuzzer ends it with exit(),
/// so nothing is left in /tmp.
func fuzzScratchDirectory(_ prefix: String) -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil)
    let path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    scratchDirectory = path
    atexit { removeScratchDirectory() }
    return path
}

/// Set once, before the first input, and read at exit.
nonisolated(unsafe) private var scratchDirectory: String?

/// Removes the directory and the files the target made in it (it makes no subdirectories).
private func removeScratchDirectory() {
    guard let path = scratchDirectory else { return }
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { unlink(path + "/" + name) }
        }
        closedir(directory)
    }
    rmdir(path)
}
