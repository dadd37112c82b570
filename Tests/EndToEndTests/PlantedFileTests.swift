import Foundation
import Testing
import TestSupport

/// `pmemsave` writes guest memory where the user says, but not into what another user planted there: a file or
/// FIFO left in a shared sticky directory (such as /tmp) under the name the user is about to use. hmp opened an
/// existing path again without O_CREAT, which the kernel's fs.protected_regular does not police, and a FIFO froze
/// every monitor until SIGTERM.
@Suite struct PlantedFileTests {
    /// A sticky directory everyone can write to, as /tmp is, inside the test's scratch directory.
    private func sharedDirectory(_ scratch: TempDir) throws -> String {
        let shared = scratch.file("shared")
        #expect(mkdir(shared, 0o777) == 0)
        #expect(chmod(shared, 0o1777) == 0)
        #expect(chmod(scratch.path, 0o755) == 0)
        return shared
    }

    @Test func aFilePlantedByAnotherUserIsNotWrittenInto() throws {
        let uid = try SecondUser.ensure()
        let scratch = TempDir()
        let shared = try sharedDirectory(scratch)
        let planted = shared + "/dump.bin"
        #expect(try SecondUser.run("printf planted > '\(planted)'").status == 0)
        let hmp = try HMPProcess(["-m", "16", "-S"])
        defer { hmp.close() }
        #expect(hmp.run("pmemsave 0 4096 \"\(planted)\"") == "Error: cannot write '\(planted)': it belongs to another user (uid \(uid)) in a directory everyone can write to; remove it or choose a path in a directory of your own\n")
        #expect(try String(contentsOfFile: planted, encoding: .utf8) == "planted")
        // A new file there is hmp's own, 0600; one of hmp's user's own is overwritten as before.
        let mine = shared + "/mine.bin"
        #expect(hmp.run("pmemsave 0 4096 \"\(mine)\"") == "")
        #expect(hmp.run("pmemsave 0 8192 \"\(mine)\"") == "")
        let attributes = try FileManager.default.attributesOfItem(atPath: mine)
        #expect((attributes[.size] as? Int) == 8192)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aPlantedFIFOIsRefusedWithoutWaiting() throws {
        _ = try SecondUser.ensure()
        let scratch = TempDir()
        let shared = try sharedDirectory(scratch)
        let fifo = shared + "/dump.bin"
        #expect(try SecondUser.run("mkfifo '\(fifo)'").status == 0)
        let hmp = try HMPProcess(["-m", "16", "-S"])
        defer { hmp.close() }
        let asked = Date()
        #expect(hmp.run("pmemsave 0 4096 \"\(fifo)\"", timeout: 10) == "Error: cannot write '\(fifo)': it is a FIFO, not a regular file; give the path of a new or regular file\n")
        #expect(Date().timeIntervalSince(asked) < 5)
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
    }

    /// A FIFO of the user's own, with a reader, or a device: hmp writes guest memory only into regular files.
    @Test func devicesAreRefused() throws {
        let hmp = try HMPProcess(["-m", "16", "-S"])
        defer { hmp.close() }
        #expect(hmp.run("pmemsave 0 4096 \"/dev/null\"") == "Error: cannot write '/dev/null': it is a character device, not a regular file; give the path of a new or regular file\n")
    }
}
