import HMP
import Testing

@Suite struct HelpTests {
    let table = TestTable.table

    @Test func oneCommand() throws {
        #expect(try table.help("stop") == ["stop|s  -- stop emulation"])
        #expect(try table.help("q") == ["quit|q  -- quit the emulator"])
        #expect(try table.help("quit extra") == ["quit|q  -- quit the emulator"])
    }

    @Test func detailsFollowTabbed() throws {
        #expect(try table.help("migrate") == [
            "migrate [-d] [-b] [-i] [-r] uri -- migrate to URI (using -d to not wait for completion)",
            "\t\t\t -b for migration without shared storage with full copy of disk",
            "\t\t\t -i for migration without shared storage with incremental copy of disk"
                + " (base image shared between src and destination)",
            "\t\t\t -r to resume a paused migration",
        ])
    }

    @Test func everything() throws {
        let lines = try table.help(nil)
        // Rows are listed by name, as QEMU sorts its table.
        #expect(lines.first == "balloon target -- request VM to change its memory allocation (in MB)")
        #expect(lines.contains("help|? [cmd] -- show the help"))
        #expect(lines.contains("info [subcommand] -- show various information about the system state"))
        #expect(lines.contains("\t\t\t -r to resume a paused migration"))
        #expect(try table.help("") == lines)
        #expect(try table.help("  ") == lines)
    }

    @Test func subcommands() throws {
        #expect(try table.help("info") == [
            "info block [-n] [-v] [device] -- show info of one block device or all block devices",
            "info migrate  -- show migration status",
            "info status  -- show the current VM status (running|paused)",
        ])
        #expect(try table.help("info status") == ["info status  -- show the current VM status (running|paused)"])
    }

    @Test func unknownTopics() {
        #expect(throws: HMPError("unknown command: 'foo'", command: nil)) { try table.help("foo") }
        #expect(throws: HMPError("unknown command: 'foo'", command: nil)) { try table.help("foo bar") }
        #expect(throws: HMPError("unknown command: 'info foo'", command: nil)) { try table.help("info foo") }
        #expect(throws: HMPError("unterminated string", command: nil)) { try table.help("\"quit") }
    }
}
