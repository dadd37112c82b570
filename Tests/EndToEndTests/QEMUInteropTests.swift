import Foundation
import Testing

/// The QEMUs hmp is checked against: the system's 7.2 and the 10.0.2 that `scripts/install-deps test` extracts into
/// the checkout's `.build/qemu-10.0.2` (located from this file, as Tests/MigrationTests/QEMU.swift does).
enum InteropQEMU: String, CaseIterable, Sendable, CustomStringConvertible {
    case v7_2 = "7.2"
    case v10_0 = "10.0.2"

    var description: String { "QEMU \(rawValue)" }

    static let extracted = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/.build/qemu-10.0.2"

    var binary: String {
        switch self {
        case .v7_2: "/usr/bin/qemu-system-x86_64"
        case .v10_0: InteropQEMU.extracted + "/usr/bin/qemu-system-x86_64"
        }
    }

    /// The extracted QEMU finds its firmware and modules only where it is told (its compiled-in paths are 7.2's).
    var leadingArguments: [String] { self == .v10_0 ? ["-L", InteropQEMU.extracted + "/usr/share/qemu"] : [] }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if self == .v10_0 { environment["QEMU_MODULE_DIR"] = InteropQEMU.extracted + "/usr/lib/x86_64-linux-gnu/qemu" }
        return environment
    }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }
}

/// hmp and the real QEMU 7.2 and 10.0.2 (`-M none -nodefaults`) migrate to each other live over TCP, RAM checked
/// byte for byte.
@Suite(.serialized) struct QEMUInteropTests {
    let scratch = Scratch()

    /// QEMU with its monitor on a unix socket; its own echo and escapes do not matter to what is checked here.
    func qemu(_ version: InteropQEMU, _ arguments: [String]) throws -> (Process, SocketClient) {
        guard FileManager.default.isExecutableFile(atPath: version.binary) else {
            throw InteropQEMU.Missing(description: "\(version) is not installed (no \(version.binary)): run scripts/install-deps test")
        }
        let monitor = scratch.file("qemu-\(UUID().uuidString.prefix(6)).sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: version.binary)
        process.arguments = version.leadingArguments
            + ["-M", "none", "-nodefaults", "-display", "none", "-m", "32", "-monitor", "unix:\(monitor),server=on,wait=off"]
            + arguments
        process.environment = version.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Leftovers.add(pid: process.processIdentifier)
        let client = try SocketClient(path: monitor)
        _ = client.readUntilPrompt()
        return (process, client)
    }

    func waitUntil(_ client: SocketClient, _ command: String, contains text: String) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if client.command(command)?.contains(text) == true { return true }
            usleep(100_000)
        }
        return false
    }

    @Test(arguments: InteropQEMU.allCases) func qemuToHMP(_ version: InteropQEMU) throws {
        let ram = scratch.patternFile("ram.bin", size: 32 << 20, seed: 11)
        let port = freePort()
        let destination = try HMPProcess(["-m", "32", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        let (process, source) = try qemu(version, ["-device", "loader,file=\(ram),addr=0,force-raw=on"])
        defer { kill(process.processIdentifier, SIGKILL) }
        source.send("migrate -d tcp:127.0.0.1:\(port)")
        _ = source.readUntilPrompt()
        #expect(waitUntil(source, "info migrate", contains: "Migration status: completed"))
        destination.waitFor { _ in destination.run("info status") == "VM status: paused\n" }
        #expect(destination.run("info status") == "VM status: paused\n")
        let received = scratch.file("received.bin")
        #expect(destination.run("pmemsave 0 0x2000000 \"\(received)\"") == "")
        #expect(sameBytes(received, ram), "\(version)'s RAM arrives in hmp byte for byte")
    }

    @Test(arguments: InteropQEMU.allCases) func hmpToQEMUWithAWorkload(_ version: InteropQEMU) throws {
        let ram = scratch.patternFile("ram.bin", size: 32 << 20, seed: 12)
        let port = freePort()
        let (process, destination) = try qemu(version, ["-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { kill(process.processIdentifier, SIGKILL) }
        let source = try HMPProcess(["-m", "32", "-mem-path", ram, "-workload", "ram=8M"])
        defer { source.close() }
        #expect(source.run("migrate tcp:127.0.0.1:\(port)", timeout: 60) == "")
        #expect(source.run("info migrate").contains("Migration status: completed"))
        #expect(waitUntil(destination, "info status", contains: "VM status: paused"))
        let sent = scratch.file("sent.bin"), received = scratch.file("received.bin")
        #expect(source.run("pmemsave 0 0x2000000 \"\(sent)\"") == "")
        destination.send("pmemsave 0 0x2000000 \"\(received)\"")
        _ = destination.readUntilPrompt()
        #expect(sameBytes(sent, received), "hmp's RAM, dirtied while it moved, arrives in \(version) byte for byte")
    }
}
