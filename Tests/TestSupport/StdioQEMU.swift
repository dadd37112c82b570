import Foundation
import Glibc

/// A `qemu-system-x86_64` driven through `-monitor stdio`, for interop tests. Missing QEMU is a loud failure:
/// `scripts/install-deps test` installs both versions.
public final class StdioQEMU: @unchecked Sendable {
    // @unchecked: the output collected from the readability handlers is guarded by `lock`.
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    private let process = Process()
    private let input = Pipe()
    private let outputPipe = Pipe()
    private let errorPipe = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private var collectedErrors = Data()

    /// `-M none -m 16 -nodefaults -display none -monitor stdio` plus `arguments` (no default NIC: its `slirp`
    /// section is not a `-M none` device of ours).
    public init(_ arguments: [String], version: QEMUVersion = .v7_2) throws {
        try version.requireInstalled()
        process.executableURL = URL(fileURLWithPath: version.binary)
        process.arguments = version.firmwareArguments
            + ["-M", "none", "-m", "16", "-nodefaults", "-display", "none", "-monitor", "stdio"] + arguments
        process.environment = version.environment
        process.standardInput = input
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        outputPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.withLock { self.collected.append(d) }
        }
        errorPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.withLock { self.collectedErrors.append(d) }
        }
        try process.run()
    }

    deinit {
        kill()
        outputPipe.fileHandleForReading.readabilityHandler = nil
        errorPipe.fileHandleForReading.readabilityHandler = nil
    }

    /// SIGKILL if it still runs, then reaped: Foundation starts children with SIGTERM blocked, so terminate()
    /// would not end QEMU.
    public func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Everything printed so far, carriage returns removed.
    public var output: String { lock.withLock { String(decoding: collected, as: UTF8.self).replacingOccurrences(of: "\r", with: "") } }
    public var errors: String { lock.withLock { String(decoding: collectedErrors, as: UTF8.self) } }

    public func send(_ line: String) {
        try? input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Sends `command` every 100 ms until the output holds `text`; fails if QEMU exits or time runs out.
    public func poll(_ command: String, until text: String, seconds: Double = 30) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return }
            guard process.isRunning else {
                throw Failed(description: "QEMU exited (\(process.terminationStatus)): \(errors)")
            }
            send(command)
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failed(description: "timed out waiting for '\(text)'; stderr: \(errors)")
    }

    /// `pmemsave` of the whole 16 MiB, waited for.
    public func pmemsave(_ path: String) throws {
        send("pmemsave 0 16777216 \"\(path)\"")
        try poll("info status", until: "VM status", seconds: 10)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let attrs = try? FileManager.default.attributesOfItem(atPath: path),
               (attrs[.size] as? Int) == 16 << 20 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Failed(description: "pmemsave did not write \(path)")
    }

    /// The exit status once QEMU exits by itself; nil if it is still running after `seconds`.
    public func exitStatus(within seconds: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// `quit` and the exit status.
    @discardableResult
    public func quit() -> Int32 {
        send("quit")
        process.waitUntilExit()
        return process.terminationStatus
    }
}
