import Foundation
import Glibc
import Machine
@testable import Migration
import MigrationModel
import Testing
import TestSupport

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
struct Random {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

func makeMachine(ram: UInt64, drives: [DriveConfiguration] = []) throws -> Machine {
    try Machine(configuration: MachineConfiguration(ramSize: ram, drives: drives, startPaused: true))
}

func ramBytes(_ machine: Machine) -> [UInt8] {
    machine.ram.withUnsafeBytes { [UInt8]($0) }
}

/// A socketpair with `send` on one thread and `receive` on the calling thread, as a migration really runs.
func overSocket<R>(
    send: @escaping @Sendable (Int32) throws -> Void, receive: (Int32) throws -> R
) throws -> (R, (any Error)?) {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw POSIXError(.EIO) }
    let writerFD = fds[0]
    let readerFD = fds[1]
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var sendError: (any Error)?
    Thread.detachNewThread {
        do { try send(writerFD) } catch { sendError = error }
        shutdown(writerFD, Int32(SHUT_WR))
        done.signal()
    }
    defer {
        close(readerFD)
        done.wait()
        close(writerFD)
    }
    let result = try receive(readerFD)
    return (result, sendError)
}

/// A whole stream to a file, then that file's bytes.
func streamBytes(_ body: (QEMUFileWriter) throws -> Void) throws -> [UInt8] {
    let dir = TempDir()
    let path = dir.file("s")
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(fd) }
    let f = QEMUFileWriter(fileDescriptor: fd)
    try body(f)
    try f.flush()
    return TempDir.read(path)
}

/// Loads `bytes` into `machine` from a file; returns the run state or the error.
func load(_ bytes: [UInt8], into machine: Machine, progress: ((String) -> Void)? = nil) -> Result<String?, MigrationError> {
    let dir = TempDir()
    let path = dir.write("in", bytes)
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    let r = QEMUFileReader(fileDescriptor: fd, bufferSize: 4096)
    do throws(MigrationError) {
        return .success(try SaveVMLoader(machine: machine).load(r, progress: progress ?? { _ in }))
    } catch {
        return .failure(error)
    }
}

/// Hand-built streams.
struct StreamBuilder {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func be16(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func be32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func be64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func lstr(_ s: String) {
        u8(UInt8(s.utf8.count))
        bytes += Array(s.utf8)
    }
    mutating func header(machine: String = "none") {
        be32(0x5145_564D)
        be32(3)
        u8(7)
        be32(UInt32(machine.utf8.count))
        bytes += Array(machine.utf8)
    }
    mutating func start(_ type: UInt8 = 1, id: UInt32, _ name: String, instance: UInt32 = 0, version: UInt32) {
        u8(type)
        be32(id)
        lstr(name)
        be32(instance)
        be32(version)
    }
    mutating func footer(_ id: UInt32) {
        u8(0x7E)
        be32(id)
    }
}

/// setup, small-budget iterations, `between` (the guest writing), a sync, the rest, complete — into a file.
func writeStream(
    _ machine: Machine, blockMode: BlockMigrationMode, to path: String, between: () throws -> Void
) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(fd) }
    let f = QEMUFileWriter(fileDescriptor: fd)
    let w = SaveVMWriter(machine: machine, blockMode: blockMode)
    try w.writeSetup(f)
    _ = try w.iterate(f, budget: 2 << 20)
    try between()
    while try !w.iterate(f, budget: 2 << 20) {}
    w.syncDirty()
    _ = try w.iterate(f, budget: 1 << 20)
    try w.complete(f, runState: "running")
}

/// Our stream of a 16 MiB machine (a page in five of `seed`'s random bytes, one page of a single byte, a write
/// between iterations), loaded by `version`'s `-incoming`: the RAM QEMU then holds, and ours.
func ourStreamLoaded(by version: QEMUVersion, seed: UInt64) throws -> (qemu: [UInt8], ours: [UInt8]) {
    let dir = TempDir()
    let machine = try makeMachine(ram: 16 << 20)
    var rng = Random(seed: seed)
    for page in stride(from: 0, to: 4096, by: 5) { try machine.ram.write(at: UInt64(page) << 12, bytes: rng.bytes(4096)) }
    try machine.ram.write(at: 0x7000, bytes: [UInt8](repeating: 0xCD, count: 4096))
    let path = dir.file("ours.state")
    try writeStream(machine, blockMode: .none, to: path) {
        try machine.ram.write(at: 0xABCDE, bytes: [9, 8, 7, 6, 5])
    }
    let qemu = try StdioQEMU(["-S", "-incoming", "exec:cat \(path)"], version: version)
    try qemu.poll("info status", until: "VM status: paused\n")
    try qemu.pmemsave(dir.file("q.mem"))
    #expect(qemu.quit() == 0)
    return (TempDir.read(dir.file("q.mem")), ramBytes(machine))
}
