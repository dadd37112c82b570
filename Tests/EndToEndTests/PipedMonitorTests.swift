import Foundation
import Testing
import TestSupport

/// The monitor driven through a pipe, as scripts drive QEMU's: plain text, QEMU's lines where scripts parse them.
@Suite struct PipedMonitorTests {
    @Test func statusFollowsStopAndCont() throws {
        let hmp = try HMPProcess(["-m", "16"])
        let out = hmp.run(["info status", "stop", "info status", "s", "cont", "info status", "c"])
        #expect(out[0] == "VM status: running\n")
        #expect(out[1] == "")
        #expect(out[2] == "VM status: paused\n")
        #expect(out[5] == "VM status: running\n")
        hmp.send("quit")
        #expect(hmp.waitForExit() == 0)
    }

    @Test func startPausedIsPrelaunch() throws {
        let hmp = try HMPProcess(["-m", "16", "-S", "-name", "guest-1"])
        let out = hmp.run(["info status", "info name", "cont", "info status"])
        #expect(out[0] == "VM status: paused (prelaunch)\n")
        #expect(out[1] == "guest-1\n")
        #expect(out[3] == "VM status: running\n")
    }

    @Test func outputIsPlainText() throws {
        let hmp = try HMPProcess(["-m", "16"])
        _ = hmp.run(["help", "info status", "nosuch", "info history"])
        #expect(!hmp.text.contains("\u{1B}"), "no escape sequences on a pipe")
        #expect(!hmp.text.contains("\r"), "no carriage returns on a pipe")
        #expect(!hmp.text.contains("nosuch\n(qemu)"), "typed input is not echoed")
        #expect(hmp.text.hasPrefix("hmp "), "starts with the banner")
    }

    @Test func parseErrorsReadAsQEMUs() throws {
        let hmp = try HMPProcess(["-m", "16"])
        let out = hmp.run([
            "foo", "info foo", "migrate -x tcp:0:4444", "migrate tcp:0:4444 -d", "migrate",
            "migrate_set_capability xbzrle maybe", "quit now",
        ])
        #expect(out[0].hasPrefix("unknown command: 'foo'\n"))
        #expect(out[1].hasPrefix("unknown command: 'info foo'\n"))
        #expect(out[2] == "migrate: unsupported option -x\nTry \"help migrate\" for more information\n")
        #expect(out[3].hasPrefix("migrate: extraneous characters at the end of line\n"))
        #expect(out[3].contains("try \"migrate -d tcp:0:4444\""), "the hint shows where the flag goes")
        #expect(out[4] == "migrate: string expected\nTry \"help migrate\" for more information\n")
        #expect(out[5] == "Expected 'on' or 'off'\nTry \"help migrate_set_capability\" for more information\n")
        #expect(out[6] == "quit|q: extraneous characters at the end of line\nTry \"help quit\" for more information\n")
        #expect(hmp.process.isRunning, "a bad line loses nothing")
    }

    @Test func flagOrderTrapSaysWhatWorks() throws {
        let hmp = try HMPProcess(["-m", "16"])
        let out = hmp.run("migrate -b -d tcp:0:4444")
        #expect(out.hasPrefix("migrate: unsupported option -d\n"))
        #expect(out.contains("migrate -d -b"), "the message shows the order that works: \(out)")
        #expect(out.hasSuffix("Try \"help migrate\" for more information\n"))
    }

    @Test func helpUsesQEMUsLayout() throws {
        let hmp = try HMPProcess(["-m", "16"])
        let out = hmp.run(["help stop", "help migrate", "help info", "help", "help nosuch"])
        #expect(out[0].hasPrefix("stop|s  -- "))
        #expect(out[1].hasPrefix("migrate [-d] [-b] [-i] [-r] uri -- "))
        #expect(out[1].contains("-b "))
        #expect(out[2].contains("info status  -- "))
        #expect(out[2].contains("info migrate_parameters  -- "))
        #expect(out[3].contains("quit|q  -- "))
        #expect(out[3].contains("pmemsave addr size file -- "))
        #expect(out[4].hasPrefix("unknown command: 'nosuch'"))
    }

    @Test func migrationSettingsAreStoredAndShown() throws {
        let hmp = try HMPProcess(["-m", "16"])
        let out = hmp.run([
            "info migrate_parameters", "migrate_set_parameter max-bandwidth 100",
            "migrate_set_parameter downtime-limit 1000", "migrate_set_capability block on",
            "migrate_set_capability nosuch on", "migrate_set_parameter max-bandwidth abc",
            "info migrate_parameters", "info migrate_capabilities",
            "migrate_set_speed 10M", "migrate_set_downtime 0.5", "info migrate_parameters",
        ])
        #expect(out[0].contains("max-bandwidth: 134217728 bytes/second\n"))
        #expect(out[0].contains("downtime-limit: 300 ms\n"))
        #expect(out[0].split(separator: "\n").count == 24)
        #expect(out[4] == "Error: invalid parameter value: nosuch\n")
        #expect(out[5].hasPrefix("Error: "))
        #expect(out[6].contains("max-bandwidth: 104857600 bytes/second\n"))
        #expect(out[6].contains("downtime-limit: 1000 ms\n"))
        #expect(out[7].hasPrefix("xbzrle: off\nrdma-pin-all: off\n"))
        #expect(out[7].contains("\nblock: on\n"))
        #expect(out[7].split(separator: "\n").count == 21)
        #expect(out[10].contains("max-bandwidth: 10485760 bytes/second\n"))
        #expect(out[10].contains("downtime-limit: 500 ms\n"))
    }

    @Test func historyListsLinesInOrder() throws {
        let hmp = try HMPProcess(["-m", "16"])
        let out = hmp.run(["info status", "stop", "info status", "info history"])
        #expect(out[3] == "0: 'stop'\n1: 'info status'\n2: 'info history'\n")
    }

    @Test func infoVersionAndBlock() throws {
        let scratch = TempDir()
        let disk = scratch.patternFile("disk.img", size: 1 << 20)
        let hmp = try HMPProcess(["-m", "16", "-drive", "file=\(disk)", "-drive", "file=\(disk),id=ro,readonly=on"])
        let out = hmp.run(["info version", "info block", "info block ro", "info block nosuch"])
        #expect(out[0].hasPrefix("7.2."))
        #expect(out[1].contains("drive0 (#block"))
        #expect(out[1].contains("\(disk) (raw)"))
        #expect(out[1].contains("ro (#block"))
        #expect(out[1].contains("Cache mode:       writeback"))
        #expect(out[2].hasPrefix("ro (#block"))
        #expect(!out[2].contains("drive0"))
        #expect(out[3].hasPrefix("Error: "))
    }

    @Test func pmemsaveWritesGuestMemoryByteForByte() throws {
        let scratch = TempDir()
        let ram = scratch.patternFile("ram.bin", size: 4 << 20)
        let hmp = try HMPProcess(["-m", "4", "-mem-path", ram, "-S"], environment: [:])
        let whole = scratch.file("whole.bin"), part = scratch.file("part.bin")
        let out = hmp.run(["pmemsave 0 0x400000 \"\(whole)\"", "pmemsave 0x1000 8192 \"\(part)\"", "pmemsave 0x3ff000 0x2000 \"\(part)x\""])
        #expect(out[0] == "" && out[1] == "", "\(out)")
        #expect(out[2].hasPrefix("Error: "), "a range past the end of RAM is refused: \(out[2])")
        let expected = try Data(contentsOf: URL(fileURLWithPath: ram))
        #expect(try Data(contentsOf: URL(fileURLWithPath: whole)) == expected)
        #expect(try Data(contentsOf: URL(fileURLWithPath: part)) == expected[0x1000..<0x3000])
    }

    @Test func endOfInputClosesTheMonitorButNotTheMachine() throws {
        let hmp = try HMPProcess(["-m", "16"])
        _ = hmp.run("info status")
        hmp.closeInput()
        usleep(300_000)
        #expect(hmp.process.isRunning, "the machine keeps running after EOF, as QEMU's does")
        hmp.process.terminate()
        #expect(hmp.waitForExit() == 0, "SIGTERM ends hmp cleanly")
    }
}
