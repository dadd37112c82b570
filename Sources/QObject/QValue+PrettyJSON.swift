extension QValue {
    /// The value as QEMU 7.2's qobject_to_json_pretty writes it (what `-qmp-pretty` sends): each member and
    /// element on a line of its own, indented four spaces a level, `"key": value`, no space before a comma, and
    /// an empty object or array opened and closed on two lines (`{`, then the closing `}` at the indent of the
    /// line that opened it). Lines end in `\n`, as QEMU's JSON writer ends them; scalars are spelled as `json`
    /// spells them. On the wire QEMU's monitor turns every `\n` into `\r\n` and ends the message with one more.
    public var prettyJSON: String {
        var out = ""
        writeJSON(into: &out, indent: 0)
        return out
    }

    /// QEMU's json_pretty_newline: `\n` and four spaces a level.
    static func newline(_ out: inout String, _ indent: Int) {
        out += "\n" + String(repeating: " ", count: indent * 4)
    }
}
