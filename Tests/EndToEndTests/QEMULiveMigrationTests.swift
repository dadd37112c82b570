import Foundation
import Testing
import TestSupport

/// hmp and the real QEMU 7.2 and 10.0.2 (`-M none -nodefaults`) migrate to each other live over TCP, RAM checked
/// byte for byte.
@Suite(.serialized) struct QEMULiveMigrationTests {
    let scratch = TempDir()

    /// QEMU with its monitor on a unix socket; its own echo and escapes do not matter to what is checked here.
    func qemu(_ version: QEMUVersion, _ arguments: [String]) throws -> (Process, SocketClient) {
        try version.requireInstalled()
        let monitor = scratch.file("qemu-\(UUID().uuidString.prefix(6)).sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: version.binary)
        process.arguments = version.firmwareArguments
            + ["-M", "none", "-nodefaults", "-display", "none", "-m", "32", "-monitor", "unix:\(monitor),server=on,wait=off"]
            + arguments
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

    @Test(arguments: QEMUVersion.allCases) func qemuToHMP(_ version: QEMUVersion) throws {
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
        #expect(sameBytes(received, ram), "QEMU \(version.rawValue)'s RAM arrives in hmp byte for byte")
    }

    /// A source with the return path on sends OPEN_RETURN_PATH first: hmp names it, says what to turn off, and
    /// exits as a failed `-incoming` QEMU does.
    @Test(arguments: QEMUVersion.allCases) func returnPathIsRefusedByName(_ version: QEMUVersion) throws {
        let port = freePort()
        let destination = try HMPProcess(["-m", "32", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        let (process, source) = try qemu(version, [])
        defer { kill(process.processIdentifier, SIGKILL) }
        _ = source.command("migrate_set_capability return-path on")
        source.send("migrate -d tcp:127.0.0.1:\(port)")
        _ = source.readUntilPrompt()
        #expect(waitUntil(source, "info migrate", contains: "Migration status: failed"))
        #expect(destination.waitForExit() == 1)
        // stderr is collected on another thread: give its last read a moment after the exit.
        let deadline = Date().addingTimeInterval(5)
        while !destination.errorText.contains("source\n"), Date() < deadline { usleep(50_000) }
        #expect(destination.errorText.contains(
            "hmp: load of migration failed: migration command OPEN_RETURN_PATH (0x1) is not supported: hmp takes "
                + "precopy streams only; turn off postcopy-ram, return-path and x-colo on the source\n"),
            "hmp said: \(destination.errorText)")
    }

    @Test(arguments: QEMUVersion.allCases) func hmpToQEMUWithAWorkload(_ version: QEMUVersion) throws {
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
        #expect(sameBytes(sent, received), "hmp's RAM, dirtied while it moved, arrives in QEMU \(version.rawValue) byte for byte")
    }
}
