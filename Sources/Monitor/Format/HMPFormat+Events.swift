import QMP
import QObject

extension HMPFormat {
    /// A QMP event as one line for a person at the terminal: what happened in words, then QEMU's name and data.
    /// The peer chose every string in it, so the line goes out through TerminalSafeText.
    static func event(_ event: QMPEvent) -> String {
        let data = event.data
        let said: String
        switch event.name {
        case "STOP": said = "the guest stopped"
        case "RESUME": said = "the guest runs"
        case "SHUTDOWN": said = "QEMU is shutting down" + reason(data)
        case "RESET": said = "the guest was reset" + reason(data)
        case "POWERDOWN": said = "the guest was asked to power down"
        case "MIGRATION": said = "migration \(data["status"]?.string ?? "?")"
        case "MIGRATION_PASS": said = "migration pass \(data["pass"].map(text) ?? "?")"
        case "DEVICE_DELETED": said = "device \(data["device"]?.string ?? data["path"]?.string ?? "?") removed"
        case let name where name.hasPrefix("BLOCK_JOB_"):
            said = "block job on \(data["device"]?.string ?? "?"): "
                + name.dropFirst("BLOCK_JOB_".count).lowercased().replacingUnderscores()
        default: said = event.name.lowercased().replacingUnderscores()
        }
        let details = data.entries.map { "\($0.key)=\(text($0.value))" }.joined(separator: " ")
        return TerminalSafeText.singleLine("QEMU: \(said) [\(event.name)\(details.isEmpty ? "" : " " + details)]")
    }

    private static func reason(_ data: QDict) -> String {
        data["reason"]?.string.map { " (\($0))" } ?? ""
    }

    private static func text(_ value: QValue) -> String {
        if case .string(let string) = value { return string }
        return value.json
    }
}

extension StringProtocol {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? " " : $0 })
    }
}
