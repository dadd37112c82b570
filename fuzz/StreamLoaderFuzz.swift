// libFuzzer entry for SaveVMLoader: any byte string must load or fail with a MigrationError, never trap.
// Built by fuzz/build.sh (not a SwiftPM product, so CI's build stays fast).
import Glibc
import Machine
import Migration

private let fuzzDir = fuzzScratchDirectory("hmp-fuzz")

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
