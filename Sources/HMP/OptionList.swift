import QObject

/// A simplified QemuOpts reader for `O` arguments: `NAME=VALUE,...` with `,,` for a literal comma. A first element
/// without `=` is the implied value, stored under the argument's own name (QEMU's `driver` for device_add); a later
/// bare NAME means NAME=on. QEMU checks names against each option list; there are no lists here, so any name goes.
enum OptionList {
    static func parse(_ text: String, impliedName: String) throws(ArgumentFailure) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for (position, element) in QemuOpts.elements(of: text).enumerated() {
            if let equals = element.firstIndex(of: "=") {
                let name = String(element[..<equals])
                guard !name.isEmpty else { throw ArgumentFailure(message: "Invalid parameter ''") }
                pairs.append((name, String(element[element.index(after: equals)...])))
            } else if position == 0 {
                pairs.append((impliedName, element))
            } else {
                guard !element.isEmpty else { throw ArgumentFailure(message: "Invalid parameter ''") }
                pairs.append((element, "on"))
            }
        }
        return pairs
    }
}
