import Foundation
import Glibc
import Machine
@testable import Migration
import Testing

/// Pages never written go as ZERO records without being read, and land without being written: a fresh destination
/// backs only what arrives non-zero, while one whose RAM holds old bytes still ends up with the source's zeros.
@Suite struct ZeroPageTests {
    func migrate(_ source: Machine, into target: Machine) throws {
        let bytes = try streamBytes { f in
            let w = SaveVMWriter(machine: source, blockMode: .none)
            try w.writeSetup(f)
            try w.complete(f, runState: "running")
        }
        if case .failure(let error) = load(bytes, into: target) { Issue.record("\(error)") }
    }

    func source() throws -> Machine {
        let machine = try makeMachine(ram: 64 << 20)
        var rng = Random(seed: 5)
        for page in [0, 1, 63, 64, 65, 4000, 16383] {
            try machine.ram.write(at: UInt64(page) << 12, bytes: rng.bytes(4096))
        }
        // Written, then zeroed again: populated, so read and found zero.
        try machine.ram.write(at: 200 << 12, bytes: [UInt8](repeating: 0, count: 4096))
        return machine
    }

    @Test func aFreshDestinationBacksOnlyTheNonZeroPages() throws {
        let src = try source()
        let dst = try makeMachine(ram: 64 << 20)
        try migrate(src, into: dst)
        #expect(ramBytes(dst) == ramBytes(src))
        #expect(dst.ram.populated.dirtyCount == 7, "only the 7 non-zero pages were written on the destination")
    }

    @Test func oldBytesOnTheDestinationAreOverwrittenWithZeros() throws {
        let src = try source()
        let dst = try makeMachine(ram: 64 << 20)
        _ = dst.ram.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0x5A) }
        #expect(dst.ram.populated.dirtyCount == dst.ram.pageCount)
        try migrate(src, into: dst)
        #expect(ramBytes(dst) == ramBytes(src))
    }

    @Test func neverWrittenPagesAreCountedAsDuplicates() throws {
        let src = try source()
        let w = SaveVMWriter(machine: src, blockMode: .none)
        _ = try streamBytes { f in
            try w.writeSetup(f)
            try w.complete(f, runState: "running")
        }
        #expect(w.statistics.normalPages == 7)
        #expect(w.statistics.duplicatePages == 16384 - 7)
    }
}
