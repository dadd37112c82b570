import Foundation

/// The QEMUs the interop tests drive: the system's 7.2 and the 10.0.2 that `scripts/install-deps test` extracts
/// into the checkout's `.build/qemu-10.0.2` (Debian's bookworm-backports packages, never installed system-wide).
enum QEMUVersion: String, CaseIterable, Sendable, CustomStringConvertible {
    case v7_2 = "7.2"
    case v10_0 = "10.0"

    var description: String { "QEMU \(rawValue)" }

    /// The checkout: this file is Tests/MigrationTests/QEMU.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    var binary: String {
        switch self {
        case .v7_2: "/usr/bin/qemu-system-x86_64"
        case .v10_0: QEMUVersion.packageRoot + "/.build/qemu-10.0.2/usr/bin/qemu-system-x86_64"
        }
    }

    /// What the binary needs besides the test's own arguments: an extracted QEMU finds its firmware and modules only
    /// where it is told (its compiled-in paths hold the system 7.2's).
    var leadingArguments: [String] {
        switch self {
        case .v7_2: []
        case .v10_0: ["-L", QEMUVersion.packageRoot + "/.build/qemu-10.0.2/usr/share/qemu"]
        }
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if self == .v10_0 {
            environment["QEMU_MODULE_DIR"] = QEMUVersion.packageRoot + "/.build/qemu-10.0.2/usr/lib/x86_64-linux-gnu/qemu"
        }
        return environment
    }

    var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// Why a test cannot run this QEMU, as the failure says it.
    var missing: String { "\(self) is not installed (no \(binary)): run scripts/install-deps test" }
}

/// A `qemu-system-x86_64` driven through `-monitor stdio`, for interop tests. Missing QEMU is a loud failure:
/// `scripts/install-deps test` installs both versions.
final class QEMU: @unchecked Sendable {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }
    struct Failed: Error, CustomStringConvertible {
        let description: String
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
    init(_ arguments: [String], version: QEMUVersion = .v7_2) throws {
        guard version.isInstalled else { throw Missing(description: version.missing) }
        process.executableURL = URL(fileURLWithPath: version.binary)
        process.arguments = version.leadingArguments
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

    /// The exit status once QEMU exits by itself; nil if it is still running after `seconds`.
    func exitStatus(within seconds: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// `quit` and the exit status.
    @discardableResult
    func quit() -> Int32 {
        send("quit")
        process.waitUntilExit()
        return process.terminationStatus
    }
}
