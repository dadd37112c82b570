import Foundation
import Glibc
import Testing

/// The QEMUs hmp is tested against: the system's 7.2, and 10.0.2 from Debian's bookworm-backports, unpacked
/// under `.build/qemu-10.0.2` by `scripts/install-deps test` (never installed over 7.2).
enum QEMUVersion: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case v7_2 = "7.2"
    case v10_0 = "10.0"

    var testDescription: String { "QEMU \(rawValue)" }

    /// The unpacked 10.0.2, found from this file's place in the checkout.
    static let unpacked: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/qemu-10.0.2").path
    }()

    var binary: String {
        switch self {
        case .v7_2: "/usr/bin/qemu-system-x86_64"
        case .v10_0: Self.unpacked + "/usr/bin/qemu-system-x86_64"
        }
    }

    /// Where its firmware is: an unpacked QEMU does not look in its own tree by itself.
    var firmwareArguments: [String] {
        switch self {
        case .v7_2: []
        case .v10_0: ["-L", Self.unpacked + "/usr/share/qemu"]
        }
    }

    /// Fails loudly when this QEMU is missing.
    func requireInstalled() throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Missing(description: "QEMU \(rawValue) is not at \(binary): run scripts/install-deps test")
        }
    }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }
}

/// A real QEMU (`-M pc -nodefaults`, paused in prelaunch by default; 7.2 unless another version is asked for)
/// with its QMP socket (for `hmp --connect`) and its own HMP on a second unix socket (the reference hmp's output
/// is compared with). Foundation starts children with SIGTERM blocked, so QEMU is stopped with SIGKILL (or `quit`)
/// and always reaped.
final class QEMUProcess: @unchecked Sendable {
    let version: QEMUVersion

    let process = Process()
    let qmpPath: String
    let monitorPath: String
    private var monitorClient: SocketClient?

    /// `disk` is attached as a raw virtio drive; `incoming` makes this a destination listening on 127.0.0.1.
    init(scratch: Scratch, name: String, version: QEMUVersion = .v7_2, disk: String? = nil, incomingPort: Int? = nil,
         paused: Bool = true, memory: Int = 64, machine: String = "pc", extra: [String] = []) throws
    {
        try version.requireInstalled()
        self.version = version
        qmpPath = scratch.file("\(name)-qmp.sock")
        monitorPath = scratch.file("\(name)-mon.sock")
        var arguments = version.firmwareArguments + ["-M", machine, "-nodefaults", "-display", "none", "-serial", "none", "-m", String(memory),
                         "-qmp", "unix:\(qmpPath),server=on,wait=off",
                         "-monitor", "unix:\(monitorPath),server=on,wait=off"]
        if paused { arguments.append("-S") }
        if let disk { arguments += ["-drive", "file=\(disk),format=raw,if=virtio"] }
        if let incomingPort { arguments += ["-incoming", "tcp:127.0.0.1:\(incomingPort)"] }
        arguments += extra
        process.executableURL = URL(fileURLWithPath: version.binary)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Leftovers.add(pid: process.processIdentifier)
        let deadline = Date().addingTimeInterval(10)
        while !(FileManager.default.fileExists(atPath: qmpPath) && FileManager.default.fileExists(atPath: monitorPath))
            && process.isRunning && Date() < deadline
        {
            usleep(20_000)
        }
    }

    deinit { kill() }

    var pid: pid_t { process.processIdentifier }

    /// `unix:PATH` of the QMP socket, as `hmp --connect` takes it.
    var qmpAddress: String { "unix:\(qmpPath)" }

    /// Kills QEMU (SIGKILL) if it still runs and reaps it.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        Leftovers.remove(pid: process.processIdentifier)
    }

    func waitForExit(timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if !process.isRunning {
            process.waitUntilExit()
            Leftovers.remove(pid: process.processIdentifier)
        }
        return !process.isRunning
    }

    /// Runs `line` on QEMU's own monitor and returns what it printed, as lines: the `\r`s, the echoed command
    /// (with its cursor escapes) and the prompt taken out. nil when the monitor did not answer.
    func monitor(_ line: String, timeout: TimeInterval = 10) -> [String]? {
        if monitorClient == nil {
            guard let client = try? SocketClient(path: monitorPath), client.readUntilPrompt() != nil else { return nil }
            monitorClient = client
        }
        guard let client = monitorClient else { return nil }
        client.send(line)
        guard let answer = client.readUntilPrompt(timeout: timeout) else { return nil }
        // The echo ends with the first \r\n; everything after it is the command's output.
        guard let echoEnd = answer.range(of: "\r\n") else { return [] }
        return Self.lines(String(answer[echoEnd.upperBound...]))
    }

    /// Text split into lines, `\r` removed, without the empty piece after a final newline.
    static func lines(_ text: String) -> [String] {
        var pieces = text.replacingOccurrences(of: "\r", with: "").components(separatedBy: "\n")
        if pieces.last == "" { pieces.removeLast() }
        return pieces
    }
}

/// A file of `size` random bytes (from /dev/urandom).
func randomFile(_ path: String, size: Int) throws {
    let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    defer { try? source.close() }
    var data = Data()
    while data.count < size {
        guard let chunk = try source.read(upToCount: size - data.count), !chunk.isEmpty else { break }
        data.append(chunk)
    }
    try data.write(to: URL(fileURLWithPath: path))
}

/// A sparse file of `size` bytes, all zero.
func sparseFile(_ path: String, size: Int) {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    _ = truncate(path, off_t(size))
}
