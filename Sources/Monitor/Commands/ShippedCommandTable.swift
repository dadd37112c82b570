public import HMP
public import QObject

/// The table hmp ships, for tools outside the monitor (the line parser fuzzer, fuzz/LineParserFuzz.swift): it
/// parses and completes lines against exactly the rows hmp runs. Handlers stay private; nothing here runs one.
public enum ShippedCommandTable {
    /// The command path (`info status`) and arguments `line` parses to, nil for a blank line, or the error the
    /// monitor would print. `formats` carries the remembered `/fmt` from one line to the next, as a session does.
    public static func parse(_ line: String, formats: inout MemoryFormat) throws(HMPError)
        -> (path: String, arguments: QDict)?
    {
        try hmpCommands.parse(line, formats: &formats).map { ($0.path, $0.arguments) }
    }

    /// What tab completion offers for `line`.
    public static func complete(_ line: String, source: any CompletionSource) -> Completion {
        hmpCommands.complete(line, source: source)
    }

    /// What `help topic` prints.
    public static func help(_ topic: String?) throws(HMPError) -> [String] {
        try hmpCommands.help(topic)
    }
}
