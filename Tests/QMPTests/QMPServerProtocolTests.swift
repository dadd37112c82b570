import QMP
import QObject
import Testing

/// The protocol checks as QEMU 7.2 answered each line on `-qmp stdio`, in this order.
@Suite struct QMPServerProtocolTests {
    private func answer(_ line: String, negotiated: Bool) -> String {
        let bytes = Array(line.utf8)
        let value: QValue
        do throws(JSONError) {
            value = try QValue(jsonBytes: bytes)
        } catch {
            return QMPServerProtocol.reply(QMPServerProtocol.parseError(bytes, error), id: nil).json
        }
        guard let request = value.dict else { return QMPServerProtocol.reply(QMPServerProtocol.notAnObject, id: nil).json }
        do throws(QMPCommandError) {
            let (name, arguments) = try QMPServerProtocol.command(of: request, negotiated: negotiated)
            if name == QMPServerProtocol.negotiation { try QMPServerProtocol.negotiate(arguments) }
            return QMPServerProtocol.reply(.dict(QDict()), id: request["id"]).json
        } catch {
            return QMPServerProtocol.reply(error, id: request["id"]).json
        }
    }

    @Test func beforeNegotiation() {
        let cases: [(String, String)] = [
            (#"{"execute":"query-status"}"#,
             #"{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}"#),
            ("[]", #"{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}"#),
            (#"{"foo":1}"#, #"{"error": {"class": "GenericError", "desc": "QMP input member 'foo' is unexpected"}}"#),
            (#"{"execute":1}"#,
             #"{"error": {"class": "GenericError", "desc": "QMP input member 'execute' must be a string"}}"#),
            (#"{"arguments":{}}"#, #"{"error": {"class": "GenericError", "desc": "QMP input lacks member 'execute'"}}"#),
            (#"{"execute":"qmp_capabilities","arguments":{"enable":["x"]}}"#,
             #"{"error": {"class": "GenericError", "desc": "Parameter 'null' does not accept value 'x'"}}"#),
            (#"{"execute":"qmp_capabilities","id":{"b":1,"a":2}}"#, #"{"return": {}, "id": {"a": 2, "b": 1}}"#),
            ("nope", #"{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'nope'"}}"#),
        ]
        for (line, expected) in cases { #expect(answer(line, negotiated: false) == expected, "\(line)") }
    }

    @Test func afterNegotiation() {
        #expect(answer(#"{"execute":"qmp_capabilities"}"#, negotiated: true)
            == #"{"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}"#)
    }

    @Test func greetingAndFraming() {
        let version: QValue = ["qemu": ["micro": 22, "minor": 2, "major": 7], "package": "hmp"]
        #expect(QMPServerProtocol.greeting(version: version).json
            == #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "hmp"}, "capabilities": ["oob"]}}"#)
        #expect(QMPServerProtocol.frame(.dict(QDict()), pretty: false) == "{}\r\n")
        #expect(QMPServerProtocol.frame(["return": ["a": 1]], pretty: true).hasSuffix("}\r\n"))
        #expect(!QMPServerProtocol.frame(["return": ["a": 1]], pretty: true).contains("\n\n"))
    }
}
