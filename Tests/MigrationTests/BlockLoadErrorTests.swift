import Foundation
import Glibc
import Machine
@testable import Migration
import Testing
import TestSupport

/// Block records the destination cannot store say which drive and where, not a bare `Input/output error`.
@Suite struct BlockLoadErrorTests {
    let dir = TempDir()

    @Test func aChunkBeyondTheDrivesEndNamesTheDriveOffsetAndSize() throws {
        let path = dir.write("dest.img", [UInt8](repeating: 0, count: 1 << 20))
        let machine = try makeMachine(ram: 1 << 20, drives: [DriveConfiguration(path: path, id: "disk7")])
        var s = StreamBuilder()
        s.header()
        s.start(id: 1, "block", version: 1)
        // A DEVICE_BLOCK record for the chunk at 4 MiB of a 1 MiB drive.
        s.be64(UInt64(4 << 20) | 1)
        s.lstr("disk7")
        s.bytes += [UInt8](repeating: 0xAA, count: 1 << 20)
        s.be64(2)
        guard case .failure(let error) = load(s.bytes, into: machine) else {
            Issue.record("the stream loaded")
            return
        }
        #expect(error.message.contains("disk7"), "\(error)")
        #expect(error.message.contains("offset 4194304"), "\(error)")
        #expect(error.message.contains("1048576 bytes"), "\(error)")
        #expect(error.message.contains("beyond the end"), "\(error)")
    }

    @Test func aFailedWriteNamesTheDriveAndTheErrno() throws {
        let path = dir.write("dest.img", [UInt8](repeating: 0, count: 1 << 20))
        let machine = try makeMachine(ram: 1 << 20, drives: [DriveConfiguration(path: path, id: "disk7")])
        let error = BlockSaveHandler.writeError(machine.drives[0], 1 << 20, ENOSPC)
        #expect(error.message == "Error writing block device disk7 (\(path)) at offset 1048576: No space left on device")
    }
}
