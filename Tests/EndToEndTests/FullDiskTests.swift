import Foundation
import Testing
import TestSupport

/// A destination whose disk fills up says so, naming the drive, instead of a bare `Input/output error`.
@Suite(.serialized) struct FullDiskTests {
    let scratch = TempDir()

    /// Runs a command, true when it exits 0.
    func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test func aFullDestinationDiskSaysNoSpaceAndNamesTheDrive() throws {
        let mount = scratch.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        // Mounting needs root; elsewhere there is nothing to fill.
        guard getuid() == 0, run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mount]) else {
            print("FullDiskTests: cannot mount a tmpfs here, skipped")
            return
        }
        defer { _ = run("/bin/umount", [mount]) }
        // A sparse 16 MiB image on an 8 MiB file system: it fills half way through the copy.
        let target = mount + "/dest.img"
        #expect(FileManager.default.createFile(atPath: target, contents: nil))
        #expect(truncate(target, 16 << 20) == 0)
        let disk = scratch.patternFile("source.img", size: 16 << 20, seed: 8)
        let port = freePort()
        let dst = try HMPProcess(["-m", "16", "-S", "-incoming", "tcp:127.0.0.1:\(port)",
                                  "-drive", "file=\(target),id=drive0"])
        _ = dst.run("info status")
        let src = try HMPProcess(["-m", "16", "-drive", "file=\(disk),id=drive0"])
        #expect(src.run("migrate_set_parameter max-bandwidth 0") == "")
        _ = src.run("migrate -b tcp:127.0.0.1:\(port)", timeout: 60)
        #expect(dst.waitForExit(timeout: 30) == 1, "a destination that cannot load exits 1")
        #expect(dst.errorText.contains("No space left on device"), "\(dst.errorText)")
        #expect(dst.errorText.contains("drive0"), "\(dst.errorText)")
        // Without a return path the source cannot know: it fails when the destination closes, or it has
        // already sent everything and completed, as QEMU 7.2's does.
        #expect(src.process.isRunning)
    }
}
