public import Foundation

/// Where `swift test` put the hmp binary: beside the test bundle.
public let hmpBinary: String = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("hmp").path) {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("hmp").path
}()

/// hmp started with pipes for stdin and stdout, as a script drives it.
public final class HMPProcess: @unchecked Sendable {
    // @unchecked: the output collected from the readability handlers is guarded by `lock`.
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var collected = Data()
    private var collectedErrors = Data()
    private let lock = NSLock()

    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
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
    public func close() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        Leftovers.remove(pid: process.processIdentifier)
    }

    /// Everything hmp has written to stdout so far.
    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// What hmp wrote to stderr so far.
    public var errorText: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collectedErrors, as: UTF8.self)
    }

    public func send(_ line: String) {
        input.fileHandleForWriting.write((line + "\n").data(using: .utf8)!)
    }

    public func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    private var promptCount: Int { text.components(separatedBy: "(qemu) ").count - 1 }

    public func waitFor(timeout: TimeInterval = 10, _ condition: (String) -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(text) && Date() < deadline { usleep(10_000) }
    }

    /// Sends each command and returns what each printed, in order, with the prompts taken out.
    public func run(_ commands: [String], timeout: TimeInterval = 10) -> [String] {
        waitFor(timeout: timeout) { _ in promptCount >= 1 }
        let start = promptCount
        for command in commands { send(command) }
        waitFor(timeout: timeout) { _ in promptCount >= start + commands.count }
        let answers = text.components(separatedBy: "(qemu) ").dropFirst(start)
        return Array(answers.prefix(commands.count))
    }

    public func run(_ command: String, timeout: TimeInterval = 10) -> String {
        run([command], timeout: timeout).first ?? ""
    }

    public func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// Runs hmp to completion with `stdin` as its input; for start-up errors and scripts that end with quit. hmp
/// that is still running after `timeout` seconds is killed, and the test sees status 128+9.
public func runHMP(_ arguments: [String], stdin: String = "", timeout: TimeInterval = 20) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try runProgram(hmpBinary, arguments, stdin: stdin, timeout: timeout)
}


extension HMPProcess {
    /// hmp with its monitor on a unix socket in `scratch` (`mon.sock`), and a client past the banner.
    public static func withSocketMonitor(
        _ arguments: [String], in scratch: TempDir
    ) throws -> (hmp: HMPProcess, client: SocketClient) {
        let path = scratch.file("mon.sock")
        let hmp = try HMPProcess(arguments + ["-monitor", "unix:\(path),server=on,wait=off"])
        do {
            let client = try SocketClient(path: path)
            _ = client.readUntilPrompt()
            return (hmp, client)
        } catch {
            hmp.close()
            throw error
        }
    }
}
