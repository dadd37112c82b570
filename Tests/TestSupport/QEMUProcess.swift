public import Foundation
import Glibc

/// A real QEMU (`-M pc -nodefaults`, paused in prelaunch by default; 7.2 unless another version is asked for)
/// with its QMP socket (for `hmp --connect`) and its own HMP on a second unix socket (the reference hmp's output
/// is compared with). Foundation starts children with SIGTERM blocked, so QEMU is stopped with SIGKILL (or `quit`)
/// and always reaped.
public final class QEMUProcess: @unchecked Sendable {
    // @unchecked: the monitor connection is used by one test at a time.
    public let version: QEMUVersion

    public let process = Process()
    public let qmpPath: String
    public let monitorPath: String
    private var monitorClient: SocketClient?

    /// `disk` is attached as a raw virtio drive; `incoming` makes this a destination listening on 127.0.0.1.
    public init(scratch: TempDir, name: String, version: QEMUVersion = .v7_2, disk: String? = nil, incomingPort: Int? = nil,
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

    public var pid: pid_t { process.processIdentifier }

    /// `unix:PATH` of the QMP socket, as `hmp --connect` takes it.
    public var qmpAddress: String { "unix:\(qmpPath)" }

    /// Kills QEMU (SIGKILL) if it still runs and reaps it.
    public func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        Leftovers.remove(pid: process.processIdentifier)
    }

    public func waitForExit(timeout: TimeInterval = 10) -> Bool {
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
    public func monitor(_ line: String, timeout: TimeInterval = 10) -> [String]? {
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
    public static func lines(_ text: String) -> [String] {
        var pieces = text.replacingOccurrences(of: "\r", with: "").components(separatedBy: "\n")
        if pieces.last == "" { pieces.removeLast() }
        return pieces
    }
}
