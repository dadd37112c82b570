import HMP
import QObject
import Testing

@Suite struct FlagTests {
    @Test func absentFlagsLeaveNoKey() throws {
        #expect(try TestTable.args("migrate -d -b tcp:0:4444") == ["detach": true, "blk": true, "uri": "tcp:0:4444"])
        #expect(try TestTable.args("migrate -d -b tcp:0:4444").keys == ["detach", "blk", "uri"])
        #expect(try TestTable.args("migrate tcp:0:4444") == ["uri": "tcp:0:4444"])
    }

    /// Every subset of the flags, in table order, is accepted.
    @Test func everyOrderedSubsetIsAccepted() throws {
        let flags = [("d", "detach"), ("b", "blk"), ("i", "inc"), ("r", "resume")]
        for mask in 0..<16 {
            let chosen = flags.indices.filter { mask & (1 << $0) != 0 }.map { flags[$0] }
            let line = (["migrate"] + chosen.map { "-\($0.0)" } + ["uri"]).joined(separator: " ")
            var expected = QDict()
            for (_, key) in chosen { expected[key] = true }
            expected["uri"] = "uri"
            #expect(try TestTable.args(line) == expected, "\(line)")
        }
    }

    @Test func outOfOrderIsRejectedWithAHint() {
        let error = TestTable.failure("migrate -b -d tcp:0:1")
        #expect(error?.message == "migrate: unsupported option -d")
        #expect(error?.command == "migrate")
        #expect(error?.lines == [
            "migrate: unsupported option -d",
            "(flags go before the other arguments, in the order [-d] [-b] [-i] [-r], each at most once:"
                + " try \"migrate -d -b tcp:0:1\")",
            "Try \"help migrate\" for more information",
        ])
        #expect(TestTable.failure("migrate -i -b uri")?.message == "migrate: unsupported option -b")
        #expect(TestTable.failure("migrate -r -d -b uri")?.hint?.hasSuffix("try \"migrate -d -b -r uri\")") == true)
    }

    @Test func repeatedFlagIsRejected() {
        let error = TestTable.failure("migrate -d -d uri")
        #expect(error?.message == "migrate: unsupported option -d")
        #expect(error?.hint?.hasSuffix("try \"migrate -d uri\")") == true)
    }

    @Test func combinedFlagsAreExtraneous() {
        let error = TestTable.failure("migrate -db tcp:0:1")
        #expect(error?.message == "migrate: extraneous characters at the end of line")
        #expect(error?.hint?.hasSuffix("try \"migrate -d -b tcp:0:1\")") == true)
    }

    @Test func flagAfterArgumentIsExtraneous() {
        let error = TestTable.failure("migrate tcp:0:1 -d")
        #expect(error?.message == "migrate: extraneous characters at the end of line")
        #expect(error?.hint?.hasSuffix("try \"migrate -d tcp:0:1\")") == true)
    }

    @Test func unknownFlagHasNoHint() {
        let error = TestTable.failure("migrate -x uri")
        #expect(error == HMPError("migrate: unsupported option -x", command: "migrate"))
    }

    @Test func loneDashQuirk() {
        // QEMU prints a NUL after the dash here; we print a plain line.
        #expect(TestTable.failure("migrate -")?.lines == [
            "migrate: unsupported option -", "Try \"help migrate\" for more information",
        ])
    }

    @Test func gluedFlagReadsTheRestAsTheNextArgument() throws {
        // QEMU does not need a blank after a flag: `-dfoo` is -d then `foo`.
        #expect(try TestTable.args("migrate -dfoo") == ["detach": true, "uri": "foo"])
    }

    @Test func flagWithValue() throws {
        #expect(try TestTable.args("screendump f -f png") == ["filename": "f", "format": "png"])
        #expect(try TestTable.args("screendump f -f \"a b\"") == ["filename": "f", "format": "a b"])
        #expect(TestTable.failure("screendump f -f")?.lines == [
            "screendump: value expected for -f", "Try \"help screendump\" for more information",
        ])
        // The F argument takes `-f` as a file name, and `head` reads `f` as an expression, as in QEMU.
        #expect(TestTable.failure("screendump -f png f")?.message == "invalid char 'f' in expression")
        #expect(TestTable.failure("screendump -f png f")?.hint == nil)
    }

    @Test func hintForFlagsInsideTheSynopsis() {
        let error = TestTable.failure("change ide0 t.img raw ro -f")
        #expect(error?.message == "change: extraneous characters at the end of line")
        #expect(error?.hint == "(flags go where \"help change\" shows them, each at most once:"
            + " try \"change ide0 -f t.img raw ro\")")
    }

    /// QEMU looks for "-m" anywhere in the rest of the args_type text and finds it in `read-only-mode`, so the
    /// unknown flag is left for the next argument instead of being refused.
    @Test func flagCheckSearchesTheRawText() throws {
        #expect(try TestTable.args("change ide0 -m t.img") == ["device": "ide0", "target": "-m", "arg": "t.img"])
        #expect(TestTable.failure("change ide0 -x t.img")?.message == "change: unsupported option -x")
    }

    @Test func subcommandFlags() throws {
        #expect(try TestTable.args("info block -n -v") == ["nodes": true, "verbose": true])
        // -n is later than nothing here, so it is left for `device`, which takes it as a name (as QEMU does).
        #expect(try TestTable.args("info block -v -n") == ["verbose": true, "device": "-n"])
        #expect(TestTable.failure("info block -v -n x")?.lines == [
            "block: extraneous characters at the end of line",
            "(flags go before the other arguments, in the order [-n] [-v], each at most once: try \"info block -n -v x\")",
            "Try \"help info block\" for more information",
        ])
    }
}
