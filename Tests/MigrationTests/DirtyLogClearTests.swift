import Machine
import Platform
@testable import Migration
import Testing

/// A guest write to a page the pass has not reached yet goes out with that page: the pass takes the page's dirty
/// mark back before it reads it, so only writes behind the scan are sent again.
@Suite(.serialized) struct DirtyLogClearTests {
    @Test func aPageWrittenAheadOfTheScanGoesOnce() throws {
        let source = try makeMachine(ram: 4 << 20)
        var rng = Random(seed: 11)
        for page in 0..<1024 { try source.ram.write(at: UInt64(page) << 12, bytes: rng.bytes(4096)) }
        let destination = try makeMachine(ram: 4 << 20)
        let writer = SaveVMWriter(machine: source, blockMode: .none)
        let bytes = try streamBytes { f in
            try writer.writeSetup(f)
            // 225 pages of 4104 bytes: the pass stops inside the word of pages 192 to 255.
            _ = try writer.iterate(f, budget: 900 << 10)
            #expect(writer.pendingRAMBytes == (1024 - 225) * 4096)
            // Behind the scan (one in the word it goes on in), ahead of it, and the last page.
            for page in [3, 200, 900, 1023] { try source.ram.write(at: UInt64(page) << 12, bytes: rng.bytes(4096)) }
            while try !writer.iterate(f, budget: 1 << 20) {}
            writer.syncDirty()
            #expect(writer.pendingRAMBytes == 2 * 4096, "only pages 3 and 200, written after they were sent, go again")
            try writer.complete(f, runState: "paused")
        }
        if case .failure(let error) = load(bytes, into: destination) { Issue.record("\(error)") }
        #expect(ramBytes(source) == ramBytes(destination))
        #expect(writer.statistics.normalPages == 1024 + 2)
    }
}

extension DirtyLogClearTests {
    /// The race the early clear must win: a writer as fast as one thread can go, over a small RAM so that it keeps
    /// hitting the pages the scan is about to read, and the bytes still arrive as they were at the pause.
    /// Serialized: each round keeps a core busy.
    @Test(arguments: 1...3) func aGuestWritingFlatOutArrivesByteForByte(round: Int) throws {
        let source = try makeMachine(ram: 2 << 20)
        let destination = try makeMachine(ram: 2 << 20)
        let workload = Workload(
            rates: WorkloadRates(ramBytesPerSecond: 1 << 40, diskBytesPerSecond: 0), ram: source.ram, drives: [],
            mode: .running)
        defer { workload.stop() }
        let (state, sendError) = try overSocket(send: { fd in
            let f = QEMUFileWriter(fileDescriptor: fd)
            let writer = SaveVMWriter(machine: source, blockMode: .none)
            try writer.writeSetup(f)
            // Passes while the writer runs (in bursts of 32 MiB every 10 ms), for a few bursts.
            let deadline = Clock.nanoseconds() + 10_000_000_000
            while workload.ramBytesWritten < 64 << 20, Clock.nanoseconds() < deadline {
                while try !writer.iterate(f, budget: 64 << 10) {}
                writer.syncDirty()
            }
            workload.pause()
            try writer.complete(f, runState: "paused")
        }, receive: { fd in
            try SaveVMLoader(machine: destination).load(QEMUFileReader(fileDescriptor: fd)) { _ in }
        })
        #expect(sendError == nil)
        #expect(state == "paused")
        #expect(workload.ramBytesWritten > 0)
        let (sent, arrived) = (ramBytes(source), ramBytes(destination))
        let wrongPages = stride(from: 0, to: sent.count, by: 4096).filter { sent[$0..<$0 + 4096] != arrived[$0..<$0 + 4096] }
        #expect(wrongPages.isEmpty, "offsets of pages that arrived unlike the source's: \(wrongPages.prefix(8))")
    }
}
