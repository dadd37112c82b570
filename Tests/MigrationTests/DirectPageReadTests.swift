import Foundation
import Glibc
import Machine
@testable import Migration
import Testing

/// The loader's reads straight into guest RAM (`QEMUFileReader.readPage`): runs of pages long enough to read
/// ahead, broken by zero pages, section ends and a second pass, delivered in ragged pieces through a pipe so that
/// reads end mid-header and mid-page, must land byte for byte as the buffered path would.
@Suite struct DirectPageReadTests {
    /// RAM of runs of random pages of many lengths (some past a 2 MiB region), with zero pages between them.
    static func sourceMachine() throws -> Machine {
        let source = try makeMachine(ram: 8 << 20)
        var rng = Random(seed: 11)
        var page = 0
        let pages = Int((8 << 20) >> 12)
        while page < pages {
            let run = [1, 31, 32, 33, 40, 64, 65, 100, 300, 600][rng.below(10)]
            for p in page..<min(page + run, pages) { try source.ram.write(at: UInt64(p) << 12, bytes: rng.bytes(4096)) }
            page += run + rng.below(3)
        }
        return source
    }

    static func stream(_ source: Machine) throws -> [UInt8] {
        try streamBytes { f in
            let writer = SaveVMWriter(machine: source, blockMode: .none)
            try writer.writeSetup(f)
            // Small budgets end sections (EOS, footer, PART header) in the middle of runs.
            _ = try writer.iterate(f, budget: 300 << 10)
            var rng = Random(seed: 5)
            for _ in 0..<200 { try source.ram.write(at: UInt64(rng.below(2048)) << 12, bytes: rng.bytes(4096)) }
            while try !writer.iterate(f, budget: 700 << 10) {}
            try writer.complete(f, runState: "paused")
        }
    }

    @Test(arguments: [1, 7, 4100, 65536, 1 << 20])
    func raggedPipeDeliveryLandsByteForByte(maxPiece: Int) throws {
        let source = try DirectPageReadTests.sourceMachine()
        let bytes = try DirectPageReadTests.stream(source)
        let destination = try makeMachine(ram: 8 << 20)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readFD, writeFD) = (fds[0], fds[1])
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var rng = Random(seed: UInt64(maxPiece))
            var at = 0
            bytes.withUnsafeBytes { raw in
                while at < raw.count {
                    let piece = min(raw.count - at, 1 + rng.below(maxPiece))
                    let n = write(writeFD, raw.baseAddress! + at, piece)
                    if n <= 0 { break }
                    at += n
                }
            }
            close(writeFD)
            done.signal()
        }
        let reader = QEMUFileReader(fileDescriptor: readFD)
        let state = try SaveVMLoader(machine: destination).load(reader) { _ in }
        done.wait()
        close(readFD)
        #expect(state == "paused")
        #expect(ramBytes(source) == ramBytes(destination))
        if maxPiece >= 65536 {
            #expect(reader.pagesReadDirect > 0 && reader.pageReadsPutBack > 0, "both paths of readPage ran")
        }
    }

    /// A run's read-ahead into pages the stream then never sends (the run ends in zero pages and EOF): those pages
    /// stay zero and unpopulated.
    @Test func pagesReadAheadButNotSentStayZero() throws {
        let source = try makeMachine(ram: 4 << 20)
        var rng = Random(seed: 3)
        for p in 0..<40 { try source.ram.write(at: UInt64(p) << 12, bytes: rng.bytes(4096)) }
        let bytes = try streamBytes { f in
            let writer = SaveVMWriter(machine: source, blockMode: .none)
            try writer.writeSetup(f)
            try writer.complete(f, runState: "running")
        }
        let destination = try makeMachine(ram: 4 << 20)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readFD, writeFD) = (fds[0], fds[1])
        Thread.detachNewThread {
            // Page by page, so that the buffer runs dry inside the run.
            bytes.withUnsafeBytes { raw in
                var at = 0
                while at < raw.count {
                    let n = write(writeFD, raw.baseAddress! + at, min(4100, raw.count - at))
                    if n <= 0 { break }
                    at += n
                    usleep(200)
                }
            }
            close(writeFD)
        }
        let reader = QEMUFileReader(fileDescriptor: readFD)
        _ = try SaveVMLoader(machine: destination).load(reader) { _ in }
        close(readFD)
        #expect(reader.pageReadsPutBack > 0, "the run's read-ahead met the zero pages")
        #expect(ramBytes(source) == ramBytes(destination))
        #expect(destination.ram.populated.dirtyCount == 40)
    }
}
