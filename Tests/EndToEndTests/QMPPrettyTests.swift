import Foundation
import Glibc
import Testing
import TestSupport

/// `-qmp-pretty`: the same conversation with QEMU 7.2's `-qmp-pretty` and hmp's, byte for byte (each line ended
/// by `\r\n`), but for the greeting's package.
@Suite struct QMPPrettyTests {
    func conversation(_ client: RawQMPClient) -> [String] {
        client.sendRaw(#"{"execute": "qmp_capabilities"}"# + "\n" + #"{"execute": "query-status", "id": [1, {}]}"#
            + "\n" + #"{"execute": "nosuch"}"# + "\n" + #"{"execute": "query-migrate-capabilities"}"# + "\n")
        var lines: [String] = []
        while let line = client.readLine(timeout: 1) { lines.append(line) }
        return lines
    }

    @Test func prettyRepliesAreQEMUs() throws {
        let scratch = TempDir()
        let qemuSocket = scratch.file("qemu.sock"), hmpSocket = scratch.file("hmp.sock")
        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: QEMUVersion.v7_2.binary)
        qemu.arguments = ["-M", "none", "-nodefaults", "-display", "none", "-S",
                          "-qmp-pretty", "unix:\(qemuSocket),server=on,wait=off"]
        qemu.standardInput = FileHandle.nullDevice
        qemu.standardOutput = FileHandle.nullDevice
        qemu.standardError = FileHandle.nullDevice
        try qemu.run()
        Leftovers.add(pid: qemu.processIdentifier)
        defer {
            kill(qemu.processIdentifier, SIGKILL)
            qemu.waitUntilExit()
            Leftovers.remove(pid: qemu.processIdentifier)
        }
        let hmp = try HMPProcess(["-m", "64", "-S", "-monitor", "none", "-qmp-pretty", "unix:\(hmpSocket),server=on,wait=off"])
        defer { hmp.close() }

        let theirs = conversation(try RawQMPClient(path: qemuSocket))
        let ours = conversation(try RawQMPClient(path: hmpSocket))
        #expect(theirs.count > 20, "\(theirs)")
        #expect(ours.count == theirs.count, "hmp:\n\(ours.joined(separator: "\n"))\nQEMU:\n\(theirs.joined(separator: "\n"))")
        for (index, (mine, reference)) in zip(ours, theirs).enumerated() where !reference.contains("\"package\"") {
            #expect(mine == reference, "line \(index)")
        }
        #expect(!ours.contains { $0.hasPrefix("MISSING CR") })
    }
}
