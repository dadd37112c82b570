import HMP
import Testing

@Suite struct CompletionTests {
    func complete(_ line: String) -> Completion { TestTable.table.complete(line, source: FakeSource()) }

    @Test func commandNamesAndAliases() {
        #expect(complete("mig") == Completion(word: "mig", candidates: [
            "migrate", "migrate_set_capability", "migrate_set_parameter",
        ]))
        #expect(complete("q").candidates == ["q", "quit"])
        #expect(complete("").candidates.contains("?"))
        #expect(complete("  sto").candidates == ["stop"])
        #expect(complete("zzz").candidates.isEmpty)
    }

    @Test func subcommands() {
        #expect(complete("info ") == Completion(word: "", candidates: ["block", "migrate", "status"]))
        #expect(complete("info st").candidates == ["status"])
        #expect(complete("info block -").candidates == ["-n", "-v"])
        #expect(complete("info block -n -").candidates == ["-v"])
        #expect(complete("info block ").candidates == ["floppy0", "ide0-hd0", "ide1-cd0"])
    }

    @Test func helpCompletesCommands() {
        #expect(complete("help mig").candidates == ["migrate", "migrate_set_capability", "migrate_set_parameter"])
        #expect(complete("? in").candidates == ["info"])
        #expect(complete("help info s").candidates == ["status"])
    }

    @Test func flagsInTableOrder() {
        #expect(complete("migrate -") == Completion(word: "-", candidates: ["-b", "-d", "-i", "-r"]))
        #expect(complete("migrate -d -").candidates == ["-b", "-i", "-r"])
        #expect(complete("migrate -b -").candidates == ["-i", "-r"])
        #expect(complete("migrate -d -b -i -r -").candidates.isEmpty)
        #expect(complete("migrate -b").candidates == ["-b"])
        #expect(complete("migrate uri -").candidates.isEmpty)
    }

    @Test func blockDevicesAndFiles() {
        #expect(complete("block_resize ide").candidates == ["ide0-hd0", "ide1-cd0"])
        #expect(complete("block_resize ide0-hd0 ").candidates.isEmpty)
        #expect(complete("logfile d") == Completion(word: "d", candidates: ["data.qcow2", "dir/", "disk.img"]))
        #expect(complete("screendump f -f png ").candidates.isEmpty)
        #expect(complete("screendump ").candidates == ["data.qcow2", "dir/", "disk.img", "other.txt"])
    }

    @Test func onOff() {
        #expect(complete("set_flag ").candidates == ["off", "on"])
        #expect(complete("set_flag of").candidates == ["off"])
    }

    @Test func customCompleter() {
        #expect(complete("migrate_set_capability ").candidates == ["block", "events", "postcopy-ram", "xbzrle"])
        #expect(complete("migrate_set_capability x").candidates == ["xbzrle"])
        // The completer gives nil for the second argument, so the `b` default applies.
        #expect(complete("migrate_set_capability xbzrle o").candidates == ["off", "on"])
        #expect(complete("savevm sn").candidates == ["snap1", "snap2"])
    }

    @Test func completerSeesIndexAndTypedWords() {
        let seen = Recorder()
        let table = CommandTable<String>([
            CommandDefinition("cmd", args: "flag:-f,a:s,b:s", help: "", completer: { index, typed, _ in
                seen.record(index, typed)
                return ["x"]
            }, handler: "cmd")
        ])
        _ = table.complete("cmd -f one t", source: FakeSource())
        #expect(seen.calls == [Recorder.Call(index: 1, typed: ["-f", "one"])])
    }

    @Test func unknownCommandCompletesNothing() {
        #expect(complete("nosuch ").candidates.isEmpty)
    }
}

/// Collects the completer's calls. Completion calls it synchronously on the test's own task, so no lock is needed.
final class Recorder: @unchecked Sendable {
    struct Call: Equatable {
        let index: Int
        let typed: [String]
    }
    private(set) var calls: [Call] = []

    func record(_ index: Int, _ typed: [String]) { calls.append(Call(index: index, typed: typed)) }
}

/// An attached QEMU's own commands complete beside the table's: at the start of a line, after `help`, and as
/// `info` items.
@Suite struct ForeignCommandCompletionTests {
    struct AttachedSource: CompletionSource {
        var blockDevices: [String] { [] }
        func files(matching prefix: String) -> [String] { [] }
        var otherCommands: [String] { ["device_add", "device_del", "migrate_pause"] }
        var otherInfoItems: [String] { ["qtree", "registers"] }
    }

    @Test func othersCompleteBesideTheTable() {
        let complete = { (line: String) in TestTable.table.complete(line, source: AttachedSource()).candidates }
        #expect(complete("dev") == ["device_add", "device_del"])
        #expect(complete("migrate_p") == ["migrate_pause"])
        #expect(complete("help dev") == ["device_add", "device_del"])
        #expect(complete("info q") == ["qtree"])
        #expect(complete("info st") == ["status"])
    }
}

/// A file name completes to something the parser takes: quoted after an integer argument (an expression would
/// divide by `/tmp`), or when it holds blanks, quotes or backslashes.
@Suite struct QuotedFileCompletionTests {
    static let table = CommandTable<String>([
        CommandDefinition("pmemsave", args: "val:l,size:i,filename:F", params: "addr size file", help: "save", handler: "p"),
        CommandDefinition("logfile", args: "filename:F", params: "filename", help: "log", handler: "l"),
    ])

    struct Files: CompletionSource {
        var blockDevices: [String] { [] }
        func files(matching prefix: String) -> [String] {
            ["/tmp/ram1.bin", "/tmp/dir/", "my file", "plain.bin"].filter { $0.hasPrefix(prefix) }
        }
    }

    func complete(_ line: String) -> Completion { Self.table.complete(line, source: Files()) }

    @Test func afterAnExpressionTheNameIsQuoted() throws {
        #expect(complete("pmemsave 0 4096 /tmp/r") == Completion(word: "/tmp/r", candidates: ["/tmp/ram1.bin"], quoted: true))
        #expect(Completion.quotedText("/tmp/ram1.bin", closed: true) == "\"/tmp/ram1.bin\"")
        #expect(complete("pmemsave 0 4096 \"/tmp/r").candidates == ["/tmp/ram1.bin"])
        #expect(try Self.table.parse("pmemsave 0 4096 " + Completion.quotedText("/tmp/ram1.bin", closed: true))?
            .arguments["filename"] == "/tmp/ram1.bin")
    }

    @Test func elsewhereOnlyWhenTheNameNeedsIt() throws {
        #expect(complete("logfile pla") == Completion(word: "pla", candidates: ["plain.bin"], quoted: false))
        #expect(complete("logfile my") == Completion(word: "my", candidates: ["my file"], quoted: true))
        #expect(Completion.quotedText("a\"b\\c", closed: true) == "\"a\\\"b\\\\c\"")
        #expect(try Self.table.parse("logfile " + Completion.quotedText("a\"b\\c", closed: true))?
            .arguments["filename"] == "a\"b\\c")
    }
}
