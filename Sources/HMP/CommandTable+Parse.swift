
extension CommandTable {
    /// Parses one typed line into its command and arguments, as QEMU 7.2's monitor_parse_command does.
    /// Returns nil for a blank line.
    public func parse(_ line: String) throws(HMPError) -> ParsedCommand<Handler>? {
        fatalError("unimplemented")
    }
}
