import Foundation
import Glibc
import Testing
import TestSupport

/// The real Linux guest that `scripts/build-test-guest` makes from Debian's packages under `.build/test-guest`: the
/// uncompressed kernel of linux-image-amd64 (booted through its PVH entry) and an initramfs whose /init, for ever,
/// dirties a few MiB of RAM, writes block N to slot N mod `blocks` of /dev/vda ("hmp-guest block N", zero-padded
/// to 4 KiB, fsync'd), then prints "hmp-guest counter N" on its console. Under TCG (/dev/kvm here cannot boot it).
struct LinuxGuest: Sendable {
    let kernel: String
    let initramfs: String

    /// The slots the guest writes round (its kernel command line's `hmp_blocks=`), each `blockSize` bytes.
    static let blocks = 64
    static let blockSize = 4096
    /// MiB of tmpfs the guest rewrites before each block (`hmp_dirty=`).
    static let dirtiedMiB = 4
    static let memory = 256

    /// The guest, built (or found up to date) by `scripts/build-test-guest` once per test run; fails loudly with
    /// what the script said.
    static func prepare() throws -> LinuxGuest {
        try built.get()
    }

    private static let checkout: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    private static let built: Result<LinuxGuest, BuildFailure> = {
        let script = checkout + "/scripts/build-test-guest"
        let result: (status: Int32, stdout: String, stderr: String)
        do {
            result = try runProgram(script, [], timeout: 600)
        } catch {
            return .failure(BuildFailure(description: "\(script) did not start: \(error)"))
        }
        let guest = LinuxGuest(kernel: checkout + "/.build/test-guest/vmlinux",
                               initramfs: checkout + "/.build/test-guest/initramfs.cpio.gz")
        guard result.status == 0, FileManager.default.fileExists(atPath: guest.kernel),
            FileManager.default.fileExists(atPath: guest.initramfs)
        else {
            return .failure(BuildFailure(
                description: "scripts/build-test-guest failed (status \(result.status)): \(result.stderr)\(result.stdout)"))
        }
        return .success(guest)
    }()

    struct BuildFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// QEMU arguments that boot the guest with its console written to `serial`. QEMUProcess already gives
    /// `-serial none` (the first port, ttyS0, is absent), so this file is the second port: the console is ttyS1.
    func arguments(serial: String) -> [String] {
        ["-accel", "tcg", "-kernel", kernel, "-initrd", initramfs,
         "-append", "console=ttyS1 quiet hmp_blocks=\(Self.blocks) hmp_dirty=\(Self.dirtiedMiB)",
         "-serial", "file:\(serial)"]
    }

    /// The counters a console log holds, in order: only whole lines (a line still being written is left out, and so
    /// is the piece of a line that the other side of a migration printed).
    static func counters(inLog path: String) -> [Int] {
        // Split as bytes: to String, the console's "\r\n" is one Character, no "\n".
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        lines.removeLast()  // what follows the last newline: nothing, or a line not yet ended
        return lines.compactMap { bytes in
            let line = String(decoding: bytes.filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
            guard line.hasPrefix("hmp-guest counter ") else { return nil }
            return Int(line.dropFirst("hmp-guest counter ".count))
        }
    }

    /// Waits until the log's last counter is at least `value`; returns the counters then (or at the timeout).
    @discardableResult
    static func waitForCounter(inLog path: String, atLeast value: Int, timeout: TimeInterval) -> [Int] {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = counters(inLog: path)
        while (seen.last ?? 0) < value && Date() < deadline {
            usleep(50_000)
            seen = counters(inLog: path)
        }
        return seen
    }

    /// The number each of the guest's slots on `disk` holds (nil: a slot that is not one of the guest's blocks,
    /// such as zeros or anything else).
    static func slots(onDisk disk: String) throws -> [Int?] {
        let data = try Data(contentsOf: URL(fileURLWithPath: disk))
        return (0..<blocks).map { slot in
            let block = data.subdata(in: slot * blockSize..<(slot + 1) * blockSize)
            guard let newline = block.firstIndex(of: UInt8(ascii: "\n")),
                block[(newline + 1)...].allSatisfy({ $0 == 0 })
            else { return nil }
            let text = String(decoding: block[..<newline], as: UTF8.self)
            guard text.hasPrefix("hmp-guest block ") else { return nil }
            return Int(text.dropFirst("hmp-guest block ".count))
        }
    }

    /// What slot `slot` must hold once the guest has printed `last`: the newest N ≤ `last` with N mod `blocks` ==
    /// slot, or N = `last` + 1, a block written (and so perhaps on the disk) but not yet printed when it stopped.
    static func acceptable(slot: Int, last: Int) -> Set<Int> {
        let newest = last - ((last - slot) % blocks + blocks) % blocks
        var accepted: Set<Int> = []
        if newest >= 1 { accepted.insert(newest) }
        if (last + 1) % blocks == slot { accepted.insert(last + 1) }
        return accepted
    }
}
