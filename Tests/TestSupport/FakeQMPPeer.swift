public import Foundation
import Platform

/// A QMP server that says whatever a test scripts: it stands in for a hostile or broken QEMU behind
/// `hmp --connect unix:PATH`. It listens on a unix socket in `directory`, greets as QEMU 7.2 does (see
/// /work/shared/reference/qemu-7.2-qmp.md), negotiates `qmp_capabilities` as QEMU does, then answers each command
/// from `script` (a default reply when the script returns nil), records what it received, and lets the test push
/// events or raw bytes at any moment. One client at a time; its own thread; `close()` (or deinit) stops it.
public final class FakeQMPPeer: @unchecked Sendable {
    // @unchecked: the connection, the flags and the commands received are guarded by `lock`.
    /// One command as received.
    public struct Command: Sendable {
        public let name: String
        /// The `arguments` member as JSON text, nil when absent.
        public let arguments: String?
        /// The whole object as received.
        public let text: String

        /// A string argument, for `human-monitor-command`'s `command-line` and the like.
        public func argument(_ key: String) -> String? {
            guard let arguments, let data = arguments.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return object[key] as? String
        }
    }

    public enum Reply: Sendable {
        /// `{"return": JSON}` with the command's `id`.
        case returns(String)
        /// `{"error": {"class": ..., "desc": ...}}` with the command's `id`; `desc` is encoded as a JSON string.
        case error(class: String, desc: String)
        /// These bytes, as they are, instead of a reply.
        case raw(String)
        /// No answer, ever.
        case stall
        /// The connection closes instead of answering.
        case close
    }

    /// QEMU 7.2.22's greeting, byte for byte.
    public static let qemu72Greeting = #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}"#

    public let path: String
    /// `unix:PATH`, for `hmp --connect`.
    public var address: String { "unix:" + path }

    private let script: @Sendable (Command) -> Reply?
    private let greeting: String
    private let lock = NSLock()
    private let stopped = NSCondition()
    private var listener: Int32 = -1
    private var client: Int32 = -1
    private var negotiated = false
    private var stopping = false
    private var finished = false
    private var commands: [Command] = []

    /// Starts listening at `directory`/qmp.sock. `greeting` replaces QEMU's (a test of a hostile banner).
    public init(directory: String, greeting: String = FakeQMPPeer.qemu72Greeting,
         script: @escaping @Sendable (Command) -> Reply? = { _ in nil }) throws {
        path = directory + "/qmp.sock"
        self.script = script
        self.greeting = greeting
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 4) == 0 else {
            let code = POSIXErrorCode(rawValue: errno) ?? .EIO
            Glibc.close(listener)
            throw POSIXError(code)
        }
        let thread = Thread { [self] in serve() }
        thread.name = "FakeQMPPeer"
        thread.start()
    }

    /// A peer whose replies come from a table: command name → reply; other commands get the default.
    public convenience init(directory: String, replies: [String: Reply]) throws {
        try self.init(directory: directory) { replies[$0.name] }
    }

    deinit { close() }

    /// Stops serving, closes the sockets and waits for the thread to end.
    public func close() {
        lock.lock()
        stopping = true
        if client >= 0 { shutdown(client, Int32(SHUT_RDWR)) }
        lock.unlock()
        stopped.lock()
        while !finished { _ = stopped.wait(until: Date().addingTimeInterval(0.1)) }
        stopped.unlock()
        unlink(path)
    }

    /// The commands received after negotiation, in order.
    public var received: [Command] {
        lock.lock(); defer { lock.unlock() }
        return commands
    }

    /// Whether a client has connected and negotiated.
    public var isNegotiated: Bool {
        lock.lock(); defer { lock.unlock() }
        return negotiated
    }

    /// Waits until a client has negotiated, as QEMU sends events only then.
    @discardableResult
    public func waitForNegotiation(timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isNegotiated && Date() < deadline { usleep(10_000) }
        return isNegotiated
    }

    /// Sends an event as QEMU frames it; `data` is JSON text, nil for an event without data.
    public func push(event name: String, data: String? = nil) {
        write(Self.event(name, data: data))
    }

    /// Sends `count` events in one write (a burst larger than a socket buffer blocks until hmp reads).
    public func flood(event name: String, data: String? = nil, count: Int) {
        write(String(repeating: Self.event(name, data: data), count: count))
    }

    /// Sends these bytes as they are.
    public func push(raw text: String) {
        write(text)
    }

    /// An event as QEMU 7.2 writes it (`name` encoded as a JSON string).
    public static func event(_ name: String, data: String?) -> String {
        let now = Date().timeIntervalSince1970
        let stamp = #"{"seconds": \#(Int(now)), "microseconds": \#(Int(now.truncatingRemainder(dividingBy: 1) * 1e6))}"#
        let tail = data.map { ", \"data\": \($0)" } ?? ""
        return #"{"timestamp": \#(stamp), "event": \#(jsonString(name))\#(tail)}"# + "\r\n"
    }

    /// `text` as a JSON string literal, control characters escaped as JSON requires.
    public static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: The thread

    private func write(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        guard client >= 0 else { return }
        sendAll(client, Array(text.utf8))
    }

    private var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    private func serve() {
        defer {
            lock.lock()
            if client >= 0 { Glibc.close(client) }
            client = -1
            Glibc.close(listener)
            listener = -1
            lock.unlock()
            stopped.lock()
            finished = true
            stopped.broadcast()
            stopped.unlock()
        }
        while !isStopping {
            guard wait(for: listener) else { continue }
            let accepted = accept(listener, nil, nil)
            guard accepted >= 0 else { continue }
            // A client that stops reading must not hold a pushing test (or close()) forever.
            var limit = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(accepted, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            lock.lock()
            client = accepted
            negotiated = false
            lock.unlock()
            converse()
            lock.lock()
            if client >= 0 { Glibc.close(client) }
            client = -1
            lock.unlock()
        }
    }

    /// Polls `descriptor` for 50 ms so that `close()` is seen soon.
    private func wait(for descriptor: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 50) > 0
    }

    private func converse() {
        write(greeting + "\r\n")
        var splitter = ObjectSplitter()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isStopping {
            lock.lock()
            let descriptor = client
            lock.unlock()
            guard descriptor >= 0 else { return }
            guard wait(for: descriptor) else { continue }
            guard let count = try? Descriptor.read(descriptor, into: &buffer), count > 0 else { return }
            for object in splitter.take(buffer[..<count]) {
                if !answer(object) { return }
            }
        }
    }

    /// Answers one object; false when the connection is to close.
    private func answer(_ object: [UInt8]) -> Bool {
        let text = String(decoding: object, as: UTF8.self)
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(object)) as? [String: Any] else {
            write(#"{"error": {"class": "GenericError", "desc": "JSON parse error"}}"# + "\r\n")
            return true
        }
        let id = parsed["id"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed) }
            .map { String(decoding: $0, as: UTF8.self) }
        let name = parsed["execute"] as? String ?? ""
        let arguments = parsed["arguments"].flatMap { try? JSONSerialization.data(withJSONObject: $0) }
            .map { String(decoding: $0, as: UTF8.self) }
        func reply(_ member: String) {
            // QEMU puts the id after `return` and before `error`.
            let idMember = id.map { #""id": \#($0)"# }
            if member.hasPrefix("\"return\"") {
                write("{" + member + (idMember.map { ", " + $0 } ?? "") + "}\r\n")
            } else {
                write("{" + (idMember.map { $0 + ", " } ?? "") + member + "}\r\n")
            }
        }
        func error(_ errorClass: String, _ desc: String) {
            reply(#""error": {"class": \#(Self.jsonString(errorClass)), "desc": \#(Self.jsonString(desc))}"#)
        }
        lock.lock()
        let wasNegotiated = negotiated
        if name == "qmp_capabilities" && !negotiated { negotiated = true }
        lock.unlock()
        if !wasNegotiated {
            if name == "qmp_capabilities" {
                reply(#""return": {}"#)
            } else {
                error("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'")
            }
            return true
        }
        let command = Command(name: name, arguments: arguments, text: text)
        lock.lock()
        commands.append(command)
        lock.unlock()
        switch script(command) ?? Self.defaultReply(command) {
        case .returns(let json): reply(#""return": \#(json)"#)
        case .error(let errorClass, let desc): error(errorClass, desc)
        case .raw(let bytes): write(bytes)
        case .stall: break
        case .close: return false
        }
        return true
    }

    /// What an idle QEMU 7.2 in prelaunch answers. It has no query-commands nor query-qmp-schema, so hmp takes
    /// the greeting's version for what `migrate` accepts (7.2: `blk` and `inc` too).
    public static func defaultReply(_ command: Command) -> Reply {
        switch command.name {
        case "qmp_capabilities":
            .error(class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored")
        case "query-status": .returns(#"{"status": "prelaunch", "singlestep": false, "running": false}"#)
        case "query-name", "query-migrate", "query-migrate-parameters": .returns("{}")
        case "query-migrate-capabilities", "query-block": .returns("[]")
        case "human-monitor-command" where command.argument("command-line") == "info status":
            .returns(#""VM status: paused (prelaunch)\r\n""#)
        case "human-monitor-command": .returns(#""""#)
        case "stop", "cont", "quit", "migrate", "migrate_cancel", "migrate-set-parameters",
             "migrate-set-capabilities", "migrate-incoming", "getfd", "closefd":
            .returns("{}")
        default: .error(class: "CommandNotFound", desc: "The command \(command.name) has not been found")
        }
    }
}

/// Splits a byte stream into top-level JSON objects, as QEMU's streamer does: by braces outside strings.
private struct ObjectSplitter {
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    mutating func take(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        var objects: [[UInt8]] = []
        for byte in bytes {
            if depth == 0 && byte != UInt8(ascii: "{") { continue }
            pending.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    objects.append(pending)
                    pending = []
                }
            default: break
            }
        }
        return objects
    }
}
