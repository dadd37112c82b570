// libFuzzer entry for SaveVMLoader: any byte string must load or fail with a MigrationError, never trap.
// Built by fuzz/build.sh (not a SwiftPM product, so CI's build stays fast).
import Glibc
import Machine
import Migration

private let fuzzDir: String = {
    var template = Array("/tmp/hmp-fuzz-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil)
    // libFuzzer ends a run with exit(): the directory goes then, so that nothing is left in /tmp.
    atexit { removeFuzzDir() }
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}()

/// Removes fuzzDir and the files the target made in it (it makes no subdirectories).
private func removeFuzzDir() {
    if let directory = opendir(fuzzDir) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { unlink(fuzzDir + "/" + name) }
        }
        closedir(directory)
    }
    rmdir(fuzzDir)
}

/// 64 KiB of RAM and a 1.5 MiB drive `drive0`, so ram and block records both reach real writes.
private let machine: Machine = {
    let image = fuzzDir + "/drive0.img"
    let fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    ftruncate(fd, (1 << 20) + (512 << 10))
    close(fd)
    return try! Machine(configuration: MachineConfiguration(
        ramSize: 64 << 10, drives: [DriveConfiguration(path: image, id: "drive0")], startPaused: true))
}()

/// The input is served from a scratch file, as a stream from a pipe would be.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let fd = open(fuzzDir + "/input", O_RDWR | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var done = 0
    while done < size {
        let n = write(fd, data + done, size - done)
        if n <= 0 { return 0 }
        done += n
    }
    lseek(fd, 0, SEEK_SET)
    let reader = QEMUFileReader(fileDescriptor: fd, bufferSize: 4096)
    _ = try? SaveVMLoader(machine: machine).load(reader) { _ in }
    return 0
}
