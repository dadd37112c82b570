import Foundation
import Machine
@testable import Migration
import Testing
import TestSupport

/// Streams between this code and a real QEMU 10.0.2 (`-M none -m 16`), both directions. QEMU 10's default stream
/// differs from 7.2's: no `block` section (ram is section 1), a SWITCHOVER_START command before the END sections,
/// and a vmdesc with a `configuration` entry; ours stays 7.2's, which QEMU 10 accepts.
@Suite(.serialized) struct QEMU10StreamTests {
    /// A footer, then COMMAND SWITCHOVER_START with no arguments.
    static let switchoverStart: [UInt8] = [0x08, 0x00, 0x0B, 0x00, 0x00]

    @Test func qemu10IsInstalled() throws {
        let version = QEMUVersion.v10_0
        try #require(version.isInstalled, "\(version.missing)")
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: version.binary)
        process.arguments = version.firmwareArguments + ["--version"]
        process.environment = version.environment
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.hasPrefix("QEMU emulator version 10.0.2"), "\(version.binary) --version says: \(text)")
    }

    /// The stream-loader fuzz target's QEMU 10 seed, recorded from `-M none -m 64K` running with 3000 bytes
    /// ((i * 7 + 3) % 251) loaded at 0x3100, loads into a 64 KiB machine: needs no QEMU, and keeps the seed honest.
    @Test func recordedQEMU10StreamLoads() throws {
        let seed = QEMUVersion.packageRoot + "/fuzz/seeds/stream-loader-fuzz/qemu-10-switchover-start"
        let bytes = TempDir.read(seed)
        try #require(!bytes.isEmpty, "\(seed) is missing")
        #expect(bytes.firstRange(of: QEMU10StreamTests.switchoverStart) != nil)
        let machine = try makeMachine(ram: 64 << 10)
        #expect(try load(bytes, into: machine).get() == "running")
        var expected = [UInt8](repeating: 0, count: 64 << 10)
        for i in 0..<3000 { expected[0x3100 + i] = UInt8((i * 7 + 3) % 251) }
        #expect(ramBytes(machine) == expected)
    }

    /// QEMU 10's outgoing stream (RAM filled by the generic loader device), paused or running, loads into our
    /// machine: RAM equals QEMU's pmemsave byte for byte and the run state is QEMU's.
    @Test(arguments: [(["-S"], "prelaunch"), ([], "running")])
    func streamFromQEMU10Loads(extra: [String], runState: String) throws {
        let dir = TempDir()
        var rng = Random(seed: 23)
        let blob1 = dir.write("blob1", rng.bytes(64 << 10))
        let blob2 = dir.write("blob2", rng.bytes(12345))
        let qemu = try StdioQEMU(extra + [
            "-device", "loader,file=\(blob1),addr=0x10000,force-raw=on",
            "-device", "loader,file=\(blob2),addr=0xF00003,force-raw=on",
        ], version: .v10_0)
        let state = dir.file("q.state")
        qemu.send("migrate \"exec:cat > \(state)\"")
        try qemu.poll("info migrate", until: "Migration status: completed")
        try qemu.pmemsave(dir.file("q.mem"))
        qemu.quit()

        let bytes = TempDir.read(state)
        // What this test is about: the default QEMU 10 stream carries the command QEMU 7.2 never sent.
        #expect(bytes.firstRange(of: QEMU10StreamTests.switchoverStart) != nil, "QEMU 10 sends SWITCHOVER_START")
        let machine = try makeMachine(ram: 16 << 20)
        let loaded = try load(bytes, into: machine).get()
        #expect(loaded == runState)
        let ram = ramBytes(machine)
        #expect(ram == TempDir.read(dir.file("q.mem")), "QEMU 10's RAM arrives byte for byte")
        #expect(Array(ram[0x10000..<0x20000]) == TempDir.read(blob1))
    }

    /// Our stream (QEMU 7.2's format), with pages dirtied between iterations, is accepted by QEMU 10's `-incoming`,
    /// and QEMU's RAM equals ours.
    @Test func ourStreamLoadsIntoQEMU10() throws {
        let ram = try ourStreamLoaded(by: .v10_0, seed: 6)
        #expect(ram.qemu == ram.ours, "our RAM arrives in QEMU 10 byte for byte")
    }

    /// QEMU 9.1 removed block migration (`migrate -b`, the `block` section): QEMU 10 refuses our `-b` stream at its
    /// first `block` section, naming it, and exits (an `-incoming` that fails ends QEMU).
    @Test func ourBlockStreamIsRefusedByQEMU10() throws {
        let dir = TempDir()
        let source = dir.write("src.img", [UInt8](repeating: 0x3C, count: 1 << 20))
        let machine = try makeMachine(ram: 16 << 20, drives: [DriveConfiguration(path: source, id: "drive0")])
        let path = dir.file("ours_b.state")
        try writeStream(machine, blockMode: .full, to: path) {}
        let qemu = try StdioQEMU(["-S", "-incoming", "exec:cat \(path)"], version: .v10_0)
        #expect(qemu.exitStatus() == 1)
        // stderr is collected on another thread: give its last read a moment after the exit.
        let deadline = Date().addingTimeInterval(5)
        while !qemu.errors.contains("'block'"), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(qemu.errors.contains("Unknown savevm section or instance 'block' 0"), "QEMU 10 said: \(qemu.errors)")
    }

    /// QEMU 10 → our machine → QEMU 7.2: what we received from the newer QEMU goes on, in 7.2's format, to the older.
    @Test func qemu10ThroughUsToQEMU72() throws {
        let dir = TempDir()
        var rng = Random(seed: 31)
        let blob = dir.write("blob", rng.bytes(3 << 20))
        let source = try StdioQEMU(["-S", "-device", "loader,file=\(blob),addr=0x200000,force-raw=on"], version: .v10_0)
        let state = dir.file("q10.state")
        source.send("migrate \"exec:cat > \(state)\"")
        try source.poll("info migrate", until: "Migration status: completed")
        try source.pmemsave(dir.file("q10.mem"))
        source.quit()

        let machine = try makeMachine(ram: 16 << 20)
        _ = try load(TempDir.read(state), into: machine).get()
        let ours = dir.file("ours.state")
        try writeStream(machine, blockMode: .none, to: ours) {}
        let destination = try StdioQEMU(["-S", "-incoming", "exec:cat \(ours)"], version: .v7_2)
        try destination.poll("info status", until: "VM status: paused\n")
        try destination.pmemsave(dir.file("q72.mem"))
        #expect(destination.quit() == 0)
        #expect(TempDir.read(dir.file("q72.mem")) == TempDir.read(dir.file("q10.mem")))
    }
}
