import Machine
@testable import Migration
import Testing
import TestSupport

/// Each way a stream can be wrong, with QEMU 7.2's text and the lines it prints around it.
@Suite struct BadStreamTests {
    let machine: Machine

    init() throws { machine = try makeMachine(ram: 16 << 20) }

    func error(_ bytes: [UInt8]) -> MigrationError? {
        if case .failure(let e) = load(bytes, into: machine) { return e }
        return nil
    }

    /// A valid stream with one ram START section holding `payload` (then EOS, unless `eos` is false).
    func ramStream(_ payload: (inout StreamBuilder) -> Void, eos: Bool = true, footer: UInt32? = 2) -> [UInt8] {
        var s = StreamBuilder()
        s.header()
        s.start(id: 2, "ram", version: 4)
        payload(&s)
        if eos { s.be64(0x10) }
        if let footer { s.footer(footer) }
        s.u8(0)
        return s.bytes
    }

    @Test func header() {
        #expect(error([0x51, 0x45, 0x56, 0x4E, 0, 0, 0, 3]) == MigrationError("Not a migration stream"))
        #expect(error([0x51, 0x45, 0x56, 0x4D, 0, 0, 0, 2])
            == MigrationError("SaveVM v2 format is obsolete and don't work anymore"))
        #expect(error([0x51, 0x45, 0x56, 0x4D, 0, 0, 0, 4]) == MigrationError("Unsupported migration stream version"))
        #expect(error([0x51, 0x45, 0x56, 0x4D, 0, 0, 0, 3, 0]) == MigrationError("Configuration section missing"))
    }

    @Test func machineTypeIsAPrefixMatch() {
        var s = StreamBuilder()
        s.header(machine: "pc-i440fx-7.2")
        s.u8(0)
        #expect(error(s.bytes) == MigrationError("Machine type received is 'pc-i440fx-7.2' and local is 'none'"))
        for accepted in ["no", "", "none"] {
            var t = StreamBuilder()
            t.header(machine: accepted)
            t.u8(0)
            #expect(error(t.bytes) == nil)
        }
        var u = StreamBuilder()
        u.header(machine: "nonexyz")
        u.u8(0)
        #expect(error(u.bytes)?.message == "Machine type received is 'nonexyz' and local is 'none'")
    }

    @Test func sections() {
        var s = StreamBuilder()
        s.header()
        s.u8(9)
        #expect(error(s.bytes) == MigrationError("Unknown savevm section type 9"))

        var t = StreamBuilder()
        t.header()
        t.start(id: 0, "foobar", version: 1)
        #expect(error(t.bytes) == MigrationError(
            "Unknown savevm section or instance 'foobar' 0. Make sure that your current VM setup matches your saved VM "
                + "setup, including any hotplugged devices"))
        var i = StreamBuilder()
        i.header()
        i.start(id: 2, "ram", instance: 1, version: 4)
        #expect(error(i.bytes)?.message.hasPrefix("Unknown savevm section or instance 'ram' 1.") == true)

        var v = StreamBuilder()
        v.header()
        v.start(id: 2, "ram", version: 5)
        #expect(error(v.bytes) == MigrationError("savevm: unsupported version 5 for 'ram' v4"))
        var v3 = StreamBuilder()
        v3.header()
        v3.start(id: 2, "ram", version: 3)
        #expect(error(v3.bytes) == MigrationError(
            "Invalid argument", context: ["error while loading state for instance 0x0 of device 'ram'"]))
        var tv = StreamBuilder()
        tv.header()
        tv.start(4, id: 0, "timer", version: 3)
        #expect(error(tv.bytes) == MigrationError("savevm: unsupported version 3 for 'timer' v2"))

        var p = StreamBuilder()
        p.header()
        p.u8(2)
        p.be32(2)
        #expect(error(p.bytes) == MigrationError("Unknown savevm section 2"))
    }

    @Test func ramRecords() {
        #expect(error(ramStream { $0.be64(0x5001) }) == MigrationError(
            "Unknown combination of migration flags: 0x1",
            context: ["error while loading state for instance 0x0 of device 'ram'"]))
        #expect(error(ramStream({ _ in }, eos: false) + [6, 0, 0, 0, 0])?.message
            == "Unknown combination of migration flags: 0x600")
        #expect(error(ramStream { $0.be64(0x5022); $0.u8(0) })?.message == "Ack, bad migration stream!")
        #expect(error(ramStream { $0.be64(0x100_0002); $0.lstr("ram"); $0.u8(0) })?.message
            == "Illegal RAM offset 1000000")
        #expect(error(ramStream { $0.be64(0x5002); $0.lstr("pc.ram"); $0.u8(0) })?.message == "Can't find block pc.ram")
        #expect(error(ramStream { $0.be64(0x200_0004); $0.lstr("ram"); $0.be64(0x200_0000) }) == MigrationError(
            "Size mismatch: ram: 0x2000000 != 0x1000000: Invalid argument",
            context: ["error while loading state for instance 0x0 of device 'ram'"]))
        #expect(error(ramStream { $0.be64(0x100_0004); $0.lstr("pc.ram"); $0.be64(0x100_0000) })?.message
            == "Unknown ramblock \"pc.ram\", cannot accept migration")
        #expect(error(ramStream { $0.be64(0x100); })?.message == "Received an unexpected compressed page")
        #expect(error(ramStream { $0.be64(0x200) })?.message == "Unknown combination of migration flags: 0x200")
    }

    @Test func ramPagesLoadAsQEMUsMinimalStream() throws {
        let bytes = ramStream { s in
            s.be64(0x100_0004); s.lstr("ram"); s.be64(0x100_0000)
            s.be64(0x5002); s.lstr("ram"); s.u8(0xAB)
            s.be64(0x6028); s.bytes += [UInt8](repeating: 0x11, count: 4096)
            // XBZRLE over the 0x11 page: skip 2 bytes, then 3 bytes of 0x22.
            s.be64(0x6060); s.u8(1); s.be16(5); s.bytes += [2, 3, 0x22, 0x22, 0x22]
        }
        #expect(error(bytes) == nil)
        let ram = ramBytes(machine)
        #expect(ram[0x5000..<0x6000].allSatisfy { $0 == 0xAB })
        #expect(Array(ram[0x6000..<0x6006]) == [0x11, 0x11, 0x22, 0x22, 0x22, 0x11])
        #expect(ram[0x4FFF] == 0 && ram[0x7000] == 0)
    }

    /// COMMAND records: QEMU 10's SWITCHOVER_START (sent by default before the END sections) is taken, with
    /// QEMU's length check; the others name what they are and why this destination cannot follow them.
    @Test func commands() {
        func stream(_ command: UInt16, _ arguments: [UInt8], length: UInt16? = nil) -> [UInt8] {
            var s = StreamBuilder()
            s.header()
            s.start(id: 1, "ram", version: 4)
            s.be64(0x100_0004); s.lstr("ram"); s.be64(0x100_0000); s.be64(0x10)
            s.footer(1)
            s.u8(8); s.be16(command); s.be16(length ?? UInt16(arguments.count)); s.bytes += arguments
            s.u8(3); s.be32(1)
            s.be64(0x5002); s.lstr("ram"); s.u8(0x5A); s.be64(0x10)
            s.footer(1)
            s.u8(0)
            return s.bytes
        }
        #expect(error(stream(11, [])) == nil)
        #expect(ramBytes(machine)[0x5000..<0x6000].allSatisfy { $0 == 0x5A }, "the END after the command loaded")
        #expect(error(stream(11, [0, 0, 0, 0]))
            == MigrationError("SWITCHOVER_START received with bad length - expecting 0, received 4"))
        let newer = "the source is newer than QEMU 10.0 or the stream is corrupt; hmp knows commands 0x1 to 0xb"
        #expect(error(stream(12, [])) == MigrationError("MIG_CMD 0xc unknown (len 0x0): \(newer)"))
        #expect(error(stream(0, [1, 2])) == MigrationError("MIG_CMD 0x0 unknown (len 0x2): \(newer)"))
        #expect(error(stream(0xFFFF, [], length: 0xFFFF)) == MigrationError("MIG_CMD 0xffff unknown (len 0xffff): \(newer)"))
        let precopyOnly = "is not supported: hmp takes precopy streams only; turn off postcopy-ram, return-path and "
            + "x-colo on the source"
        #expect(error(stream(1, [])) == MigrationError("migration command OPEN_RETURN_PATH (0x1) \(precopyOnly)"))
        #expect(error(stream(2, [0, 0, 0, 1])) == MigrationError("migration command PING (0x2) \(precopyOnly)"))
        #expect(error(stream(2, [0, 1]))
            == MigrationError("PING received with bad length - expecting 4, received 2"))
        #expect(error(stream(3, [UInt8](repeating: 0, count: 16)))
            == MigrationError("migration command POSTCOPY_ADVISE (0x3) \(precopyOnly)"))
        #expect(error(stream(10, [])) == MigrationError("migration command RECV_BITMAP (0xa) \(precopyOnly)"))
        // A command cut short (its type byte is at 67) is the usual short-stream error.
        for cut in [68, 69, 70] {
            #expect(error(Array(stream(11, []).prefix(cut)))?.message == "Input/output error", "cut at \(cut)")
        }
        #expect(stream(11, [])[67] == 8)
    }

    @Test func footers() {
        #expect(error(ramStream({ _ in }, footer: nil)) == MigrationError("Missing section footer for ram"))
        #expect(error(ramStream({ _ in }, footer: 5))
            == MigrationError("Mismatched section id in footer for ram - read 0x5 expected 0x2"))
        var g = StreamBuilder()
        g.header()
        g.start(4, id: 4, "globalstate", version: 1)
        g.be32(8)
        g.bytes += Array("running".utf8) + [UInt8](repeating: 0, count: 93)
        g.footer(5)
        #expect(error(g.bytes) == MigrationError("Mismatched section id in footer for globalstate - read 0x5 expected 0x4"))
        var b = StreamBuilder()
        b.header()
        b.start(4, id: 4, "globalstate", version: 1)
        b.be32(0)
        b.bytes += Array("bogus".utf8) + [UInt8](repeating: 0, count: 95)
        #expect(error(b.bytes) == MigrationError(
            "invalid parameter value: bogus",
            context: ["error while loading state for instance 0x0 of device 'globalstate'"]))
    }

    @Test func truncatedStreamsAreInputOutputErrors() throws {
        let source = try makeMachine(ram: 64 << 10)
        try source.ram.write(at: 8192, bytes: [1, 2, 3])
        let full = try streamBytes { f in
            let w = SaveVMWriter(machine: source, blockMode: .none)
            try w.writeSetup(f)
            try w.complete(f, runState: "running")
        }
        let small = try makeMachine(ram: 64 << 10)
        #expect(load(full, into: small).map { $0 } == .success("running"))
        func error(_ bytes: [UInt8]) -> MigrationError? {
            if case .failure(let e) = load(bytes, into: small) { return e }
            return nil
        }
        // Everything up to EOF: every cut fails with Input/output error; after EOF the vmdesc is optional.
        let eof = full.count - 486 - 5 - 1
        for cut in [0, 3, 8, 9, 12, 17, 20, 40, 60, 100, 4000, eof - 30, eof - 1] {
            let e = error(Array(full.prefix(cut)))
            #expect(e?.message == "Input/output error", "cut at \(cut)")
        }
        for cut in [eof + 1, eof + 3, eof + 100, full.count] {
            #expect(error(Array(full.prefix(cut))) == nil, "cut at \(cut)")
        }
    }

    @Test func blockErrors() throws {
        var s = StreamBuilder()
        s.header()
        s.start(id: 1, "block", version: 1)
        s.be64(1)
        s.lstr("virtio9")
        #expect(error(s.bytes) == MigrationError(
            "Error unknown block device virtio9",
            context: ["error while loading state for instance 0x0 of device 'block'"]))
        var f = StreamBuilder()
        f.header()
        f.start(id: 1, "block", version: 1)
        f.be64(0x10)
        #expect(error(f.bytes)?.message == "Unknown block migration flags: 0x10")
    }

    /// Random bytes and mutations of a valid stream: errors, never a trap, in bounded time.
    @Test func garbageNeverTraps() throws {
        let source = try makeMachine(ram: 64 << 10)
        var rng = Random(seed: 11)
        try source.ram.write(at: 0, bytes: rng.bytes(8192))
        let valid = try streamBytes { f in
            let w = SaveVMWriter(machine: source, blockMode: .none)
            try w.writeSetup(f)
            try w.complete(f, runState: "running")
        }
        // And QEMU 10's stream of a 64 KiB guest (the fuzz seed), with its SWITCHOVER_START and newer vmdesc.
        let qemu10 = TempDir.read(QEMUVersion.packageRoot + "/fuzz/seeds/stream-loader-fuzz/qemu-10-switchover-start")
        try #require(!qemu10.isEmpty)
        let target = try makeMachine(ram: 64 << 10)
        var outcomes = 0
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = rng.bytes(rng.below(200))
                if round % 8 == 0 { bytes = Array(valid.prefix(17)) + bytes }
            } else {
                bytes = round % 2 == 0 ? valid : qemu10
                for _ in 0..<(1 + rng.below(4)) {
                    let at = rng.below(bytes.count)
                    switch rng.below(3) {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes = Array(bytes.prefix(at))
                    default: bytes.insert(contentsOf: rng.bytes(rng.below(9)), at: at)
                    }
                    if bytes.isEmpty { break }
                }
            }
            _ = load(bytes, into: target)
            outcomes += 1
        }
        #expect(outcomes == 3000)
    }
}
