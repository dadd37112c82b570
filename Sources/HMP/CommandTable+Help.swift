extension CommandTable {
    /// What `help` prints: every command with no topic, or the rows that `topic` names (`help info` lists the info
    /// subcommands, `help info status` one of them). Unknown topics throw `unknown command: 'foo'`.
    public func help(_ topic: String?) throws(HMPError) -> [String] {
        fatalError("unimplemented")
    }
}
