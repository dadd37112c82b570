import Foundation
import Testing

/// Where `swift test` put the hmp binary: beside the test bundle.
let hmpBinary: String = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("hmp").path) {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("hmp").path
}()

/// A fresh directory for one test, removed when the test's scope ends.
final class Scratch {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "hmp-test-" + UUID().uuidString.prefix(8)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// A file of `size` bytes of a pseudo-random pattern, different for each seed.
    @discardableResult
    func patternFile(_ name: String, size: Int, seed: UInt32 = 1) -> String {
        var bytes = [UInt8](repeating: 0, count: size)
        var x = seed &* 2654435761 | 1
        for i in 0..<size {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        try! Data(bytes).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }
}

/// hmp started with pipes for stdin and stdout, as a script drives it.
final class HMPProcess: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var collected = Data()
    private var collectedErrors = Data()
    private let lock = NSLock()

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: hmpBinary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.collected.append(data)
            self.lock.unlock()
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.collectedErrors.append(data)
            self.lock.unlock()
        }
        try process.run()
        Leftovers.add(pid: process.processIdentifier)
    }

    deinit {
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        close()
    }

    /// Stops hmp if it still runs.
    func close() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        Leftovers.remove(pid: process.processIdentifier)
    }

    /// Everything hmp has written to stdout so far.
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// What hmp wrote to stderr so far.
    var errorText: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collectedErrors, as: UTF8.self)
    }

    func send(_ line: String) {
        input.fileHandleForWriting.write((line + "\n").data(using: .utf8)!)
    }

    func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    private var promptCount: Int { text.components(separatedBy: "(qemu) ").count - 1 }

    func waitFor(timeout: TimeInterval = 10, _ condition: (String) -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(text) && Date() < deadline { usleep(10_000) }
    }

    /// Sends each command and returns what each printed, in order, with the prompts taken out.
    func run(_ commands: [String], timeout: TimeInterval = 10) -> [String] {
        waitFor(timeout: timeout) { _ in promptCount >= 1 }
        let start = promptCount
        for command in commands { send(command) }
        waitFor(timeout: timeout) { _ in promptCount >= start + commands.count }
        let answers = text.components(separatedBy: "(qemu) ").dropFirst(start)
        return Array(answers.prefix(commands.count))
    }

    func run(_ command: String, timeout: TimeInterval = 10) -> String {
        run([command], timeout: timeout).first ?? ""
    }

    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// Runs hmp to completion with `stdin` as its input; for start-up errors and scripts that end with quit. hmp
/// that is still running after `timeout` seconds is killed, and the test sees status 128+9.
func runHMP(_ arguments: [String], stdin: String = "", timeout: TimeInterval = 20) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try runProgram(hmpBinary, arguments, stdin: stdin, timeout: timeout)
}

/// Runs the program at `path` to completion with `stdin` as its input and returns its status and output; one still
/// running after `timeout` seconds is killed (status 128+9).
func runProgram(_ path: String, _ arguments: [String], stdin: String = "", timeout: TimeInterval)
    throws -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let pid = process.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { kill(pid, SIGKILL) }
    input.fileHandleForWriting.write(stdin.data(using: .utf8)!)
    try input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}
