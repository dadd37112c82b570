public import QObject

/// QEMU 7.2's QMP server side apart from its commands (monitor/qmp.c, qapi/qmp-dispatch.c): the greeting, the
/// capabilities negotiation, the checks every request passes before a command is looked up, the texts for what the
/// stream splitter and the JSON parser refuse, and the framing of each message. Pure: the session serving a client
/// keeps whether it has negotiated and runs the commands.
public enum QMPServerProtocol {
    /// The greeting, with the server's `query-version` answer.
    public static func greeting(version: QValue) -> QValue {
        .dict(["QMP": ["version": version, "capabilities": ["oob"]]])
    }

    /// The command a request names and its arguments, once its members passed qmp_dispatch's checks and the
    /// negotiation state allows it. A failure is the error to reply with.
    public static func command(
        of request: QDict, negotiated: Bool
    ) throws(QMPCommandError) -> (name: String, arguments: QDict) {
        for (key, member) in request {
            switch key {
            case "execute":
                guard member.string != nil else { throw generic("QMP input member 'execute' must be a string") }
            case "arguments":
                guard member.dict != nil else { throw generic("QMP input member 'arguments' must be an object") }
            case "id":
                break
            default:
                throw generic("QMP input member '\(key)' is unexpected")
            }
        }
        guard let name = request["execute"]?.string else { throw generic("QMP input lacks member 'execute'") }
        if !negotiated {
            guard name == negotiation else {
                throw QMPCommandError(
                    class: "CommandNotFound", description: "Expecting capabilities negotiation with 'qmp_capabilities'")
            }
        } else if name == negotiation {
            throw QMPCommandError(
                class: "CommandNotFound", description: "Capabilities negotiation is already complete, command ignored")
        }
        return (name, request["arguments"]?.dict ?? QDict())
    }

    public static let negotiation = "qmp_capabilities"

    /// qmp_capabilities' `enable`: `oob` is the only capability offered.
    public static func negotiate(_ arguments: QDict) throws(QMPCommandError) {
        for capability in arguments["enable"]?.list ?? [] where capability.string != "oob" {
            throw generic("Parameter 'null' does not accept value '\(capability.string ?? capability.json)'")
        }
    }

    /// A value that is not an object.
    public static let notAnObject = generic("QMP input must be a JSON object")

    /// What the splitter refused, as QEMU says it: a value too large, or a token that starts nothing.
    public static func refusal(_ piece: JSONStreamSplitter.Piece) -> QMPCommandError? {
        switch piece {
        case .text: nil
        case .tooLarge(let limit): generic(limit.qemuText)
        case .stray(let token): generic("JSON parse error, stray '\(String(decoding: token, as: UTF8.self))'")
        }
    }

    /// A text the parser refused: `JSON parse error, ` and the part of QEMU's text that is easy to match: the
    /// parser's own QEMU text (duplicate key, invalid UTF-8, a bad `\u` escape), an unknown keyword by name (its
    /// first 256 bytes), a missing colon, else `expecting value`.
    public static func parseError(_ bytes: [UInt8], _ error: JSONError) -> QMPCommandError {
        let isLetter = { (b: UInt8) in (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        let limit = JSONStreamSplitter.strayQuoteLimit
        let word = bytes.prefix(while: isLetter)
        let text =
            if let text = error.qemuText { text }
            else if !word.isEmpty {
                "invalid keyword '\(String(decoding: word.prefix(limit), as: UTF8.self))\(word.count > limit ? "..." : "")'"
            } else if error.reason == "expected ':'" { "missing : in object pair" }
            else { "expecting value" }
        return generic("JSON parse error, " + text)
    }

    /// A command's reply; QEMU echoes an object id in its own QDict order.
    public static func reply(_ value: QValue, id: QValue?) -> QValue {
        var message = QDict()
        message["return"] = value
        if let id { message["id"] = id.inQEMUOrder }
        return .dict(message)
    }

    /// An error reply.
    public static func reply(_ error: QMPCommandError, id: QValue?) -> QValue {
        var message = QDict()
        if let id { message["id"] = id.inQEMUOrder }
        message["error"] = ["class": .string(error.class), "desc": .string(error.description)]
        return .dict(message)
    }

    /// One message as sent: compact JSON and `\r\n`, or for -qmp-pretty QEMU's indented JSON with each line break
    /// sent as `\r\n`, and one more after the message.
    public static func frame(_ message: QValue, pretty: Bool) -> String {
        guard pretty else { return message.json + "\r\n" }
        return message.prettyJSON.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
            + "\r\n"
    }

    private static func generic(_ text: String) -> QMPCommandError {
        QMPCommandError(class: "GenericError", description: text)
    }
}
