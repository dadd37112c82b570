import HMP
import QObject
import Testing
import TestSupport

@Suite struct ParseTests {
    let table = TestTable.table

    @Test(arguments: ["", "   ", "\t \t"] as [ArgumentText])
    func blankLineIsNil(_ line: ArgumentText) throws {
        #expect(try table.parse(line.value) == nil)
    }

    @Test func namesAndAliases() throws {
        #expect(try TestTable.parsed("quit").definition.handler == "quit")
        #expect(try TestTable.parsed("  q  ").definition.handler == "quit")
        #expect(try TestTable.parsed("q").path == "q")
        #expect(try TestTable.parsed("? migrate").arguments == ["name": "migrate"])
    }

    @Test func unknownCommandHasNoTryLine() {
        #expect(TestTable.failure("foo") == HMPError("unknown command: 'foo'", command: nil))
        #expect(TestTable.failure("foo")?.lines == ["unknown command: 'foo'"])
        // QEMU quotes from the start of the line, blanks included, and the name stops at '/'.
        #expect(TestTable.failure("  foo bar")?.message == "unknown command: '  foo'")
        #expect(TestTable.failure("foo/x")?.message == "unknown command: 'foo'")
        #expect(TestTable.failure("quitx")?.message == "unknown command: 'quitx'")
    }

    @Test func subcommands() throws {
        let status = try TestTable.parsed("info status")
        #expect(status.definition.handler == "info status")
        #expect(status.path == "info status")
        #expect(try TestTable.parsed("info").definition.handler == "info")
        #expect(try TestTable.parsed("info   ").definition.handler == "info")
        #expect(TestTable.failure("info foo") == HMPError("unknown command: 'info foo'", command: nil))
        #expect(TestTable.failure("  info  foo")?.message == "unknown command: '  info  foo'")
        #expect(try TestTable.args("info block -v ide0-hd0") == ["verbose": true, "device": "ide0-hd0"])
    }

    @Test func subcommandErrorsNameTheSubcommand() {
        let error = TestTable.failure("info   status  x")
        #expect(error?.lines == [
            "status: extraneous characters at the end of line",
            "Try \"help info   status\" for more information",
        ])
    }

    @Test func tryLineKeepsTheCommandAsTyped() {
        #expect(TestTable.failure("   migrate -x")?.lines == [
            "migrate: unsupported option -x",
            "Try \"help    migrate\" for more information",
        ])
        #expect(TestTable.failure("q x")?.lines == [
            "quit|q: extraneous characters at the end of line",
            "Try \"help q\" for more information",
        ])
    }

    @Test func rowWithoutHandlerIsNotAvailable() {
        #expect(TestTable.failure("help_only") == HMPError("Command \"help_only\" is not available.", command: nil))
    }

    // MARK: s

    @Test func strings() throws {
        #expect(try TestTable.args("migrate_set_parameter max-bandwidth 1G")
            == ["parameter": "max-bandwidth", "value": "1G"])
        #expect(try TestTable.args("migrate_set_parameter \"a b\" \"c\\\"d\"") == ["parameter": "a b", "value": "c\"d"])
        #expect(try TestTable.args(#"migrate "a\n\r\\\'\"z""#) == ["uri": "a\n\r\\'\"z"])
        // No escapes outside quotes; a closing quote ends the word even with no blank after it.
        #expect(try TestTable.args(#"migrate a\nb"#) == ["uri": #"a\nb"#])
        #expect(try TestTable.args(#"migrate_set_parameter "a"b"#) == ["parameter": "a", "value": "b"])
    }

    @Test func stringErrors() {
        #expect(TestTable.failure("migrate")?.lines == [
            "migrate: string expected", "Try \"help migrate\" for more information",
        ])
        #expect(TestTable.failure("migrate \"abc")?.lines == [
            "unterminated string", "migrate: string expected", "Try \"help migrate\" for more information",
        ])
        #expect(TestTable.failure(#"migrate "a\qb""#)?.lines == [
            #"unsupported escape code: '\q'"#, "migrate: string expected", "Try \"help migrate\" for more information",
        ])
        #expect(TestTable.failure("migrate_set_parameter x")?.message == "migrate_set_parameter: string expected")
        #expect(TestTable.failure("migrate_set_parameter \"a\"b c")?.message
            == "migrate_set_parameter: extraneous characters at the end of line")
    }

    @Test func optionalArgumentsLeaveNoKey() throws {
        #expect(try TestTable.args("savevm") == [:])
        #expect(try TestTable.args("savevm snap") == ["name": "snap"])
        #expect(try TestTable.args("help") == [:])
        #expect(try TestTable.args("screendump f") == ["filename": "f"])
        #expect(try TestTable.args("screendump f -f png vga 2") == ["filename": "f", "format": "png", "device": "vga", "head": 2])
    }

    // MARK: S

    @Test func restOfLine() throws {
        #expect(try TestTable.args("help   info  status ") == ["name": "info  status "])
    }

    // MARK: F and B

    @Test func filenameAndBlockDevice() throws {
        #expect(try TestTable.args("logfile /tmp/log") == ["filename": "/tmp/log"])
        #expect(TestTable.failure("logfile")?.message == "logfile: filename expected")
        #expect(TestTable.failure("block_resize")?.lines == [
            "block_resize: block device name expected", "Try \"help block_resize\" for more information",
        ])
        #expect(TestTable.failure("logfile \"x")?.message == "unterminated string\nlogfile: filename expected")
    }

    // MARK: i l M

    @Test func integers() throws {
        let args = try TestTable.args("pmemsave 0x1000 4096 mem.bin")
        #expect(args == ["val": 4096, "size": 4096, "filename": "mem.bin"])
        #expect(args.int("val") == 4096)
        #expect(try TestTable.args("pmemsave 1 + 2 100 f") == ["val": 3, "size": 100, "filename": "f"])
        #expect(try TestTable.args("cpu 0xffffffff") == ["index": 0xffff_ffff])
    }

    @Test func longKeepsTheBitPattern() throws {
        #expect(try TestTable.args("p 0xffffffffffffffff").int("val") == -1)
        #expect(try TestTable.args("p -1").int("val") == -1)
    }

    @Test func int32Range() {
        for line in ["cpu 0x100000000", "cpu -1"] {
            #expect(TestTable.failure(line)?.lines == [
                "'cpu' has failed: integer is for 32-bit values", "Try \"help cpu\" for more information",
            ])
        }
        #expect(TestTable.failure("cpu")?.message == "unexpected end of expression")
        #expect(TestTable.failure("cpu x")?.message == "invalid char 'x' in expression")
    }

    @Test func megabytes() throws {
        #expect(try TestTable.args("balloon 1") == ["value": .int(1 << 20)])
        #expect(try TestTable.args("balloon 0x10") == ["value": .int(16 << 20)])
        #expect(TestTable.failure("balloon -1")?.lines == [
            "enter a positive value", "Try \"help balloon\" for more information",
        ])
    }

    @Test func dottedIntegerNeedsTheDot() throws {
        #expect(try TestTable.args("i 0x60") == ["count": 1, "format": 0x78, "size": 4, "addr": 0x60])
        #expect(try TestTable.args("i 0x60 .1").int("index") == 1)
        #expect(TestTable.failure("i 0x60 1")?.message == "i: extraneous characters at the end of line")
    }

    // MARK: o

    static let sizeCases: [(String, Int64)] = [
        ("1", 1 << 20), ("1k", 1024), ("1K", 1024), ("2G", 2 << 30), ("1b", 1), ("1.5", 3 << 19),
        ("1.0b", 1), ("0x10", 16 << 20), ("0x10k", 16 << 10), ("+5", 5 << 20), ("1.k", 1024), ("7E", 7 << 60),
        ("0.5K", 512),
    ]

    @Test(arguments: sizeCases)
    func sizes(_ text: String, _ bytes: Int64) throws {
        #expect(try TestTable.args("block_resize d \(text)") == ["device": "d", "size": .int(bytes)])
    }

    @Test(arguments: ["abc", "-1", "1.5b", "0.5b", "8E", ".5", "1.5e3", "0x1.5", "99999999999999999999"])
    func invalidSizes(_ text: String) {
        #expect(TestTable.failure("block_resize d \(text)")?.lines == [
            "invalid size", "Try \"help block_resize\" for more information",
        ])
    }

    @Test func sizeStopsBeforeText() {
        // `e` is the exabyte suffix, so `1e3` leaves `3` behind.
        for text in ["10x", "1e3", "0x", "1 .5"] {
            #expect(TestTable.failure("block_resize d \(text)")?.message
                == "block_resize: extraneous characters at the end of line")
        }
        #expect(TestTable.failure("block_resize d")?.message == "invalid size")
    }

    // MARK: T

    @Test func seconds() throws {
        #expect(try TestTable.args("sleep 2") == ["time": 2.0])
        #expect(try TestTable.args("sleep 1.5ms") == ["time": 0.0015])
        #expect(try TestTable.args("sleep 3us 4ns") == ["time": 3e-6, "again": 4e-9])
        #expect(TestTable.failure("sleep 5s")?.message == "Unknown unit suffix")
        #expect(TestTable.failure("sleep x")?.message == "Number expected")
        #expect(TestTable.failure("sleep inf")?.message == "Bad number")
        #expect(TestTable.failure("sleep")?.lines == ["Number expected", "Try \"help sleep\" for more information"])
    }

    // MARK: b

    @Test func bools() throws {
        #expect(try TestTable.args("migrate_set_capability xbzrle on") == ["capability": "xbzrle", "state": true])
        #expect(try TestTable.args("migrate_set_capability xbzrle off") == ["capability": "xbzrle", "state": false])
        for line in ["migrate_set_capability xbzrle maybe", "migrate_set_capability xbzrle", "migrate_set_capability x onx",
            "migrate_set_capability x \"on\""]
        {
            #expect(TestTable.failure(line)?.lines == [
                "Expected 'on' or 'off'", "Try \"help migrate_set_capability\" for more information",
            ])
        }
        #expect(TestTable.failure("migrate_set_capability xbzrle on extra")?.message
            == "migrate_set_capability: extraneous characters at the end of line")
        #expect(try TestTable.args("set_flag") == [:])
        #expect(try TestTable.args("set_flag on") == ["flag": true])
    }

    // MARK: O

    @Test func options() throws {
        #expect(try TestTable.args("device_add e1000,id=net0,mac=52:54:00:12:34:56")
            == ["device": "e1000", "id": "net0", "mac": "52:54:00:12:34:56"])
        #expect(try TestTable.args("device_add virtio,,x,on") == ["device": "virtio,x", "on": "on"])
        #expect(try TestTable.args("device_add") == [:])
    }

    // MARK: /

    @Test func formats() throws {
        #expect(try TestTable.args("p/x 5") == ["count": 1, "format": 0x78, "size": 4, "val": 5])
        #expect(try TestTable.args("p /10db 5") == ["count": 10, "format": 0x64, "size": 1, "val": 5])
        #expect(TestTable.failure("p /q 0")?.lines == [
            "invalid char in format: 'q'", "Try \"help p\" for more information",
        ])
    }

    @Test func formatIsRemembered() throws {
        var formats = MemoryFormat()
        _ = try TestTable.table.parse("p /dh 1", formats: &formats)
        #expect(formats.format == UInt8(ascii: "d") && formats.size == 2)
        let again = try TestTable.table.parse("p 1", formats: &formats)
        #expect(again?.arguments == ["count": 1, "format": 0x64, "size": 2, "val": 1])
    }
}
