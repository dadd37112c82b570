import Foundation

/// A `qemu-system-x86_64` driven through `-monitor stdio`, for interop tests. Missing QEMU is a loud failure:
/// `scripts/install-deps` installs it in CI.
final class QEMU: @unchecked Sendable {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "qemu-system-x86_64 is not installed: run scripts/install-deps" }
    }
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    static var binary: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        return (paths.map { "\($0)/qemu-system-x86_64" } + ["/usr/bin/qemu-system-x86_64"])
            .first { FileManager.default.isExecutableFile(atPath: $0) }
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
    init(_ arguments: [String]) throws {
        guard let binary = QEMU.binary else { throw Missing() }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-M", "none", "-m", "16", "-nodefaults", "-display", "none", "-monitor", "stdio"] + arguments
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
        if process.isRunning { process.terminate() }
        outputPipe.fileHandleForReading.readabilityHandler = nil
        errorPipe.fileHandleForReading.readabilityHandler = nil
    }

    /// Everything printed so far, carriage returns removed.
    var output: String { lock.withLock { String(decoding: collected, as: UTF8.self).replacingOccurrences(of: "\r", with: "") } }
    var errors: String { lock.withLock { String(decoding: collectedErrors, as: UTF8.self) } }

    func send(_ line: String) {
        try? input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Sends `command` every 100 ms until the output holds `text`; fails if QEMU exits or time runs out.
    func poll(_ command: String, until text: String, seconds: Double = 30) throws {
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
    func pmemsave(_ path: String) throws {
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

    /// `quit` and the exit status.
    @discardableResult
    func quit() -> Int32 {
        send("quit")
        process.waitUntilExit()
        return process.terminationStatus
    }
}
