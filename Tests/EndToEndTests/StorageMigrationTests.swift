import Foundation
import Glibc
import Testing
import TestSupport

/// `migrate -b` with `--destination`: the disks over NBD and blockdev-mirror, then the RAM, on QEMU 10.0 (which has
/// no block migration) and 7.2 alike. Two raw disks of random data and a RAM of random bytes (a private mapping of
/// a random file, the guest paused) arrive byte for byte; afterwards neither QEMU keeps a job, a node or an export
/// of hmp's. A refusal changes nothing; a cancel or a dead destination leaves the source as it was.
@Suite(.serialized) struct StorageMigrationTests {
    let scratch = TempDir()

    /// A source and a destination QEMU with two disks each (the source's random, the destination's empty, of the
    /// same sizes unless `destinationSizes` says otherwise) and random RAM on the source; each has a second QMP
    /// socket for the test's own questions.
    struct Pair {
        let source: QEMUProcess
        let destination: QEMUProcess
        let sourceDisks: [String]
        let destinationDisks: [String]
        let port: Int
        let sourceQMP: String
        let destinationQMP: String

        func kill() {
            source.kill()
            destination.kill()
        }
    }

    func pair(version: QEMUVersion, sizes: [Int] = [24 << 20, 16 << 20], destinationSizes: [Int]? = nil) throws -> Pair {
        // Each pair its own file names: a killed QEMU's socket file stays behind.
        let tag = "\(version.rawValue)-\(UInt32.random(in: 0...UInt32.max))"
        let ram = scratch.file("ram-\(tag).bin")
        try randomFile(ram, size: 64 << 20)
        var sourceDisks: [String] = [], destinationDisks: [String] = []
        var sourceArguments = ["-object", "memory-backend-file,id=mem,size=64M,mem-path=\(ram),share=off",
                               "-machine", "memory-backend=mem"]
        // The destination's RAM must be the same kind of block (its name travels in the stream).
        var destinationArguments = ["-object", "memory-backend-ram,id=mem,size=64M", "-machine", "memory-backend=mem"]
        for (index, size) in sizes.enumerated() {
            let source = scratch.file("src\(index)-\(tag).raw")
            try randomFile(source, size: size)
            sourceDisks.append(source)
            sourceArguments += ["-drive", "file=\(source),format=raw,if=virtio"]
        }
        for (index, size) in (destinationSizes ?? sizes).enumerated() {
            let destination = scratch.file("dst\(index)-\(tag).raw")
            sparseFile(destination, size: size)
            destinationDisks.append(destination)
            destinationArguments += ["-drive", "file=\(destination),format=raw,if=virtio"]
        }
        let sourceQMP = scratch.file("src-\(tag)-test.sock")
        let destinationQMP = scratch.file("dst-\(tag)-test.sock")
        let port = freePort()
        let destination = try QEMUProcess(
            scratch: scratch, name: "dst-\(tag)", version: version, incomingPort: port,
            extra: destinationArguments + ["-qmp", "unix:\(destinationQMP),server=on,wait=off"])
        let source = try QEMUProcess(
            scratch: scratch, name: "src-\(tag)", version: version,
            extra: sourceArguments + ["-qmp", "unix:\(sourceQMP),server=on,wait=off"])
        return Pair(source: source, destination: destination, sourceDisks: sourceDisks,
                    destinationDisks: destinationDisks, port: port, sourceQMP: sourceQMP, destinationQMP: destinationQMP)
    }

    /// The `return` of one QMP command on a fresh connection, as JSON text.
    func ask(_ path: String, _ command: String) -> String {
        guard let client = try? RawQMPClient(path: path) else { return "no QMP at \(path)" }
        _ = client.readLine()
        client.sendRaw(#"{"execute": "qmp_capabilities"}"# + "\n")
        _ = client.readLine()
        client.sendRaw(#"{"execute": "\#(command)"}"# + "\n")
        while let line = client.readLine() {
            if line.contains("\"return\"") || line.contains("\"error\"") { return line }
        }
        return "no answer"
    }

    /// Nothing of hmp's is left on either side: no job, no hmp node on the source, no export on the destination.
    func expectNothingLeft(_ pair: Pair) {
        #expect(ask(pair.sourceQMP, "query-block-jobs") == #"{"return": []}"#)
        #expect(!ask(pair.sourceQMP, "query-named-block-nodes").contains("hmp-nbd"))
        #expect(ask(pair.destinationQMP, "query-block-exports") == #"{"return": []}"#)
    }

    @Test(arguments: QEMUVersion.allCases) func disksAndRAMArriveOverNBD(version: QEMUVersion) throws {
        let pair = try pair(version: version)
        defer { pair.kill() }
        let hmp = try HMPProcess(["--connect", pair.source.qmpAddress, "--destination", pair.destination.qmpAddress])
        defer { hmp.close() }
        #expect(hmp.run("migrate_set_parameter max-bandwidth 32M") == "")
        #expect(hmp.text.contains("migrating to QEMU \(version.rawValue)"), "\(hmp.text)")
        let output = hmp.run("migrate -b tcp:127.0.0.1:\(pair.port)", timeout: 60)
        #expect(output.contains("Completed "), "\(output.debugDescription)")
        #expect(!output.contains("Error"), "\(output.debugDescription) \(hmp.errorText)")
        let info = QEMUProcess.lines(hmp.run("info migrate"))
        #expect(info.contains("Migration status: completed"), "\(info.joined(separator: "\n"))")
        #expect(info == pair.source.monitor("info migrate"), "no storage line once it is over")
        expectNothingLeft(pair)
        #expect(hmp.run("info status") == "VM status: paused (postmigrate)\n")

        let sentRAM = scratch.file("sent-\(version.rawValue).bin"), receivedRAM = scratch.file("received-\(version.rawValue).bin")
        #expect(hmp.run("pmemsave 0 67108864 \"\(sentRAM)\"") == "")
        #expect(pair.destination.monitor("pmemsave 0 67108864 \"\(receivedRAM)\"") == [])
        #expect(sameBytes(sentRAM, receivedRAM), "the guest's RAM arrives byte for byte")
        _ = pair.destination.monitor("quit", timeout: 2)
        #expect(pair.destination.waitForExit(timeout: 10))
        for (sent, received) in zip(pair.sourceDisks, pair.destinationDisks) {
            #expect(sameBytes(sent, received), "\(sent) arrives byte for byte")
        }
    }

    @Test(arguments: QEMUVersion.allCases) func aDiskMissingOrOfAnotherSizeIsRefusedBeforeAnythingStarts(version: QEMUVersion) throws {
        for destinationSizes in [[24 << 20], [24 << 20, 8 << 20]] {
            let pair = try pair(version: version, destinationSizes: destinationSizes)
            defer { pair.kill() }
            let hmp = try HMPProcess(["--connect", pair.source.qmpAddress, "--destination", pair.destination.qmpAddress])
            defer { hmp.close() }
            let answer = hmp.run("migrate -b tcp:127.0.0.1:\(pair.port)")
            let expected = destinationSizes.count == 1
                ? "Error: disk virtio1 has no counterpart on the destination"
                : "Error: disk virtio1 is 16777216 bytes here but 8388608 on the destination"
            #expect(answer.hasPrefix(expected), "\(answer)")
            expectNothingLeft(pair)
            #expect(!(pair.source.monitor("info migrate") ?? []).contains { $0.hasPrefix("Migration status") })
        }
    }

    /// `migrate_cancel` while the mirrors run, and a destination killed while they run: the source keeps its own
    /// disks, unchanged, and nothing of hmp's is left.
    enum Interruption: CaseIterable {
        case cancelWhileMirroring, destinationKilledWhileMirroring, cancelWhileMigratingRAM
    }

    @Test(arguments: QEMUVersion.allCases) func cancelAndADeadDestinationLeaveTheSourceAsItWas(version: QEMUVersion) throws {
        for interruption in Interruption.allCases {
            let killDestination = interruption == .destinationKilledWhileMirroring
            // Small disks for the RAM phase: the mirrors are ready at once and the 64 MiB of RAM take seconds.
            let pair = try pair(version: version, sizes: interruption == .cancelWhileMigratingRAM
                ? [1 << 20, 1 << 20] : [24 << 20, 16 << 20])
            defer { pair.kill() }
            let copies = pair.sourceDisks.map { $0 + ".before" }
            for (disk, copy) in zip(pair.sourceDisks, copies) {
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.copyItem(atPath: disk, toPath: copy)
            }
            let hmp = try HMPProcess(["--connect", pair.source.qmpAddress, "--destination", pair.destination.qmpAddress])
            defer { hmp.close() }
            #expect(hmp.run("migrate_set_parameter max-bandwidth 4M") == "")
            #expect(hmp.run("migrate -d -b tcp:127.0.0.1:\(pair.port)") == "")
            let phase = interruption == .cancelWhileMigratingRAM ? "migrating the RAM" : "mirroring the disks"
            var during = ""
            let phaseDeadline = Date().addingTimeInterval(10)
            while Date() < phaseDeadline, !during.contains(phase) {
                usleep(200_000)
                during = hmp.run("info migrate")
            }
            #expect(during.contains("storage migration over NBD (hmp): \(phase)"), "\(during)")
            if killDestination {
                pair.destination.kill()
            } else {
                #expect(hmp.run("migrate_cancel") == "")
            }
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, hmp.run("info migrate").contains("storage migration") { usleep(200_000) }
            #expect(!hmp.run("info migrate").contains("storage migration"))
            #expect(ask(pair.sourceQMP, "query-block-jobs") == #"{"return": []}"#)
            #expect(!ask(pair.sourceQMP, "query-named-block-nodes").contains("hmp-nbd"))
            if interruption == .cancelWhileMirroring {
                #expect(ask(pair.destinationQMP, "query-block-exports") == #"{"return": []}"#)
            } else if interruption == .cancelWhileMigratingRAM {
                // A QEMU whose incoming stream is cut exits, as QEMU does: nothing of it is left either.
                #expect(pair.destination.waitForExit(timeout: 10), "the destination ends with its stream")
            }
            #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n", "the source as it was")
            _ = pair.source.monitor("quit", timeout: 2)
            #expect(pair.source.waitForExit(timeout: 10))
            for (disk, copy) in zip(pair.sourceDisks, copies) {
                #expect(sameBytes(disk, copy), "\(disk) unchanged")
            }
        }
    }
}
