/// Text from a QMP peer made safe to print: the peer is untrusted, and a control character or escape sequence
/// in an event name, an error description or human-monitor-command's output would otherwise reach the person's
/// terminal raw (set its title, clear its screen, move the cursor over other lines, answer back).
///
/// Each C0 control (U+0000–U+001F), DEL (U+007F) and C1 control (U+0080–U+009F) that is not allowed where it
/// stands is written as `\xNN`, its code in two lowercase hex digits: ESC becomes `\x1b`, so `ESC ] 0 ; t BEL`
/// prints as the harmless `\x1b]0;t\x07`. Tabs are kept everywhere; `\n` (and `\r\n`) only in the multi-line
/// form. Everything else, backslashes included, passes unchanged, so plain QEMU output is printed as it came;
/// the rendering is for reading, not reversible.
enum TerminalSafeText {
    /// One line (an event, an error description, a name): newlines too are shown as `\x0a`, so the peer cannot
    /// start a line that looks like hmp's own.
    static func singleLine(_ text: String) -> String {
        render(text, keepsNewlines: false)
    }

    /// Output of several lines, such as human-monitor-command's (`info qtree`, `info registers`): `\n` and `\r\n`
    /// line ends and tabs pass unchanged, every other control character is shown as `\xNN`. Text without
    /// other controls, which is all legitimate QEMU output, comes back as it is, uncopied.
    static func multiLine(_ text: String) -> String {
        render(text, keepsNewlines: true)
    }

    private static func render(_ text: String, keepsNewlines: Bool) -> String {
        let scalars = text.unicodeScalars
        guard scalars.contains(where: { isControl($0) && $0 != "\t" && !(keepsNewlines && $0 == "\n") }) else {
            return text
        }
        var result = String.UnicodeScalarView()
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let scalar = scalars[index]
            let next = scalars.index(after: index)
            let kept = !isControl(scalar) || scalar == "\t"
                || (keepsNewlines && scalar == "\n")
                // A lone carriage return would let the peer overwrite the line already printed; `\r\n` is a line end.
                || (keepsNewlines && scalar == "\r" && next != scalars.endIndex && scalars[next] == "\n")
            if kept {
                result.append(scalar)
            } else {
                result.append(contentsOf: escaped(scalar).unicodeScalars)
            }
            index = next
        }
        return String(result)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(scalar.value >> 4)]) + String(digits[Int(scalar.value & 0xF)])
    }
}
