// libFuzzer entry for the monitor's line parser over the table hmp ships (Monitor's hmpCommands): each input,
// read as one line the way a session decodes it (invalid UTF-8 repaired), must parse or fail with an HMPError,
// and complete, never trap. No handler runs. Built by fuzz/build.sh.
import HMP
import Monitor
import QObject

/// Fixed drives and files, so completion's `B` and `F` paths run without touching a machine or the disk.
private struct FixedSource: CompletionSource {
    var blockDevices: [String] { ["drive0", "ide0-hd0"] }

    func files(matching prefix: String) -> [String] {
        ["disk.img", "dir/", "/tmp/x"].filter { $0.hasPrefix(prefix) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var formats = MemoryFormat()
    do throws(HMPError) {
        // Twice, so the second parse starts from whatever `/fmt` the first one left behind.
        for _ in 0..<2 {
            guard let parsed = try ShippedCommandTable.parse(line, formats: &formats) else { break }
            // `help` is the one handler that parses again (its topic); run that part, which is pure.
            if parsed.path == "help" { _ = try? ShippedCommandTable.help(parsed.arguments.string("name")) }
        }
    } catch {
        precondition(!error.lines.isEmpty)
    }
    let completion = ShippedCommandTable.complete(line, source: FixedSource())
    // A quoted file name completes the word without its opening quote; the editor then replaces the whole word.
    let typed = completion.quoted && completion.word.hasPrefix("\"") ? String(completion.word.dropFirst()) : completion.word
    precondition(completion.candidates.allSatisfy { $0.hasPrefix(typed) })
    return 0
}
