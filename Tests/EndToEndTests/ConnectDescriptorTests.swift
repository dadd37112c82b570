import Foundation
import Glibc
import Testing
import TestSupport

/// `getfd` typed at hmp attached to a real QEMU, 7.2 and 10.0: the descriptor a monitor client passed to hmp goes on to
/// QEMU over QMP (SCM_RIGHTS), where `migrate fd:NAME` writes QEMU's stream into it.
@Suite(.serialized) struct ConnectDescriptorTests {
    let scratch = TempDir()

    @Test(arguments: QEMUVersion.allCases) func getfdPassesTheDescriptorOnToQEMU(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q-\(version.rawValue)", version: version, memory: 16)
        defer { qemu.kill() }
        let path = scratch.file("hmp-\(version.rawValue).sock")
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress, "-monitor", "unix:\(path),server=on,wait=off"])
        defer { hmp.close() }
        let client = try SocketClient(path: path)
        _ = client.readUntilPrompt()
        #expect(client.command("getfd stream") == "Error: No file descriptor supplied via SCM_RIGHTS\n")

        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        client.send("getfd stream", passing: fds[1])
        close(fds[1])
        let named = client.readUntilPrompt()
        #expect(named == "")
        guard named == "" else { return }
        // hmp kept no copy: once QEMU closes its copy the pipe ends, which it does when the migration is done.
        #expect(client.command("migrate -d fd:stream") == "")
        var stream: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            if stream.count < 8 { stream += buffer[0..<min(n, 8)] }
        }
        // QEMU's stream starts with its magic and version: "QEVM", 3.
        #expect(Array(stream.prefix(8)) == [0x51, 0x45, 0x56, 0x4D, 0, 0, 0, 3], "\(stream)")
        #expect(client.command("info migrate").map { $0.contains("Migration status: completed") } == true)
        #expect(client.command("closefd stream") == "Error: File descriptor named 'stream' not found\n",
                "QEMU's migration took the descriptor, as QEMU's own getfd does")
    }
}
