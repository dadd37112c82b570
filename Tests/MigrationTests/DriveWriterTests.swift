import Foundation
import Glibc
import Machine
@testable import Migration
import Testing
import TestSupport

/// The destination writes chunks behind the stream, on a thread of its own: what lands in the file must still be
/// what the stream said, in its order, whether the stream comes from a file or a socket.
@Suite struct DriveWriterTests {
    let dir = TempDir()
    static let chunk = 1 << 20

    /// Chunk 0 twice (the second copy wins), chunk 1 then a zero block over it, chunk 2 once.
    func overwritingStream() -> [UInt8] {
        var s = StreamBuilder()
        s.header()
        s.start(id: 1, "block", version: 1)
        func data(_ index: Int, _ bytes: [UInt8]) {
            s.be64(UInt64(index * DriveWriterTests.chunk) | 0x01)
            s.lstr("drive0")
            s.bytes += bytes
        }
        data(0, [UInt8](repeating: 0xAA, count: DriveWriterTests.chunk))
        data(1, [UInt8](repeating: 0xBB, count: DriveWriterTests.chunk))
        data(0, [UInt8](repeating: 0xCC, count: DriveWriterTests.chunk))
        s.be64(UInt64(1 * DriveWriterTests.chunk) | 0x01 | 0x08)
        s.lstr("drive0")
        data(2, (0..<DriveWriterTests.chunk).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        s.be64(0x02)
        s.footer(1)
        s.u8(0)
        return s.bytes
    }

    func expectOverwritten(_ path: String) {
        let bytes = TempDir.read(path)
        let c = DriveWriterTests.chunk
        #expect(bytes.count == 3 * c)
        #expect(bytes[0..<c].allSatisfy { $0 == 0xCC }, "chunk 0 is not the stream's last copy")
        #expect(bytes[c..<(2 * c)].allSatisfy { $0 == 0 }, "the zero block did not replace chunk 1")
        #expect(Array(bytes[(2 * c)...]) == (0..<c).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    }

    @Test(arguments: [false, true]) func theLastCopyOfAChunkWins(throughSocket: Bool) throws {
        let path = dir.write("dest.img", [UInt8](repeating: 0x11, count: 3 * DriveWriterTests.chunk))
        let machine = try makeMachine(ram: 1 << 20, drives: [DriveConfiguration(path: path, id: "drive0")])
        let stream = overwritingStream()
        let result = throughSocket ? loadThroughSocket(stream, into: machine) : load(stream, into: machine)
        guard case .success = result else {
            Issue.record("the stream did not load: \(result)")
            return
        }
        expectOverwritten(path)
    }

    /// The writer waits on a pipe the loader will never fill: giving up must end it (each load joins its thread).
    @Test func aStreamEndingInsideAChunkFailsAndNeverHangs() throws {
        let path = dir.write("dest.img", [UInt8](repeating: 0, count: 2 * DriveWriterTests.chunk))
        let machine = try makeMachine(ram: 1 << 20, drives: [DriveConfiguration(path: path, id: "drive0")])
        var s = StreamBuilder()
        s.header()
        s.start(id: 1, "block", version: 1)
        s.be64(0x01)
        s.lstr("drive0")
        s.bytes += [UInt8](repeating: 0xAA, count: DriveWriterTests.chunk)
        s.be64(UInt64(DriveWriterTests.chunk) | 0x01)
        s.lstr("drive0")
        s.bytes += [UInt8](repeating: 0xBB, count: 1000)
        for _ in 0..<20 {
            guard case .failure(let error) = loadThroughSocket(s.bytes, into: machine) else {
                Issue.record("a cut stream loaded")
                return
            }
            #expect(error.message == "Input/output error", "\(error)")
        }
    }

    /// Loads `bytes` from one end of a socket pair that another thread fills and then closes.
    func loadThroughSocket(_ bytes: [UInt8], into machine: Machine) -> Result<String?, MigrationError> {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
            return .failure(MigrationError("socketpair: \(errno)"))
        }
        let feeder = fds[1]
        let thread = Thread {
            bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = write(feeder, raw.baseAddress! + done, raw.count - done)
                    if n <= 0 { break }
                    done += n
                }
            }
            close(feeder)
        }
        thread.start()
        defer { close(fds[0]) }
        let r = QEMUFileReader(fileDescriptor: fds[0])
        do throws(MigrationError) {
            return .success(try SaveVMLoader(machine: machine).load(r, progress: { _ in }))
        } catch {
            return .failure(error)
        }
    }
}
