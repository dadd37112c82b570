import Foundation
import Testing
import TestSupport

/// A monitor socket lets in its owner only, whatever umask hmp was started with.
@Suite struct MonitorSocketPermissionTests {
    @Test func theSocketIsOwnerOnlyUnderUmask000() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask 000; exec \"$0\" -m 16 -monitor unix:\"$1\",server=on,wait=off", hmpBinary, path]
        process.standardInput = Pipe()
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Leftovers.add(pid: process.processIdentifier)
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            Leftovers.remove(pid: process.processIdentifier)
        }
        let client = try SocketClient(path: path)
        _ = client.readUntilPrompt()
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(String(status.st_mode & 0o7777, radix: 8) == "600", "the socket is srw-------")
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        client.send("quit")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
