import Foundation
import Testing
import TestSupport

/// An `exec:` command inherits only its stdin, stdout and stderr: not the terminal's copies libedit holds, not a
/// socket monitor's listener or client, not a descriptor `getfd` holds, not the wake-up pipes.
@Suite(.serialized) struct DescriptorTests {
    let scratch = TempDir()

    /// The command that lists its own descriptors into `listing`, then swallows the stream.
    func listingCommand(_ listing: String) -> String {
        "exec:ls -l /proc/self/fd > \(listing); cat > /dev/null"
    }

    /// The descriptors `ls -l /proc/self/fd` listed, but for the directory ls itself opened to list them.
    func inherited(_ listing: String) -> [String] {
        let text = (try? String(contentsOfFile: listing, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains(" -> ") && !$0.contains("/proc/") }
            .map { String($0.split(separator: " -> ")[0].split(separator: " ").last ?? "") }
    }

    func waitForListing(_ listing: String) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: listing, encoding: .utf8), text.contains(" 2 -> ") { return true }
            usleep(50_000)
        }
        return false
    }

    @Test func execFromATerminalSeesOnlyTheStandardThree() throws {
        let listing = scratch.file("fds")
        let home = try scratch.directory("home")
        let term = try TerminalSession("\(hmpBinary) -m 64", environment: ["HOME": home])
        defer { term.close() }
        #expect(term.waitForCursorLine("(qemu) "))
        try term.type("migrate \"\(listingCommand(listing))\"")
        try term.press("Enter")
        #expect(waitForListing(listing), "\(term.screenText)")
        #expect(inherited(listing) == ["0", "1", "2"], "\(String(describing: try? String(contentsOfFile: listing, encoding: .utf8)))")
        #expect(term.waitFor(timeout: 30) { $0.contains("Migration completed") }, "\(term.screenText)")
    }

    @Test func execFromASocketMonitorWithAClientAndANamedDescriptorSeesOnlyTheStandardThree() throws {
        let listing = scratch.file("fds")
        let socket = scratch.file("monitor.sock")
        let hmp = try HMPProcess(["-m", "64", "-monitor", "unix:\(socket),server=on,wait=off"])
        defer { hmp.close() }
        let client = try SocketClient(path: socket)
        _ = client.readUntilPrompt()
        let named = open(scratch.file("named"), O_WRONLY | O_CREAT, 0o600)
        defer { close(named) }
        client.send("getfd spare", passing: named)
        #expect(client.readUntilPrompt() == "")
        client.send("migrate \"\(listingCommand(listing))\"")
        _ = client.readUntilPrompt(timeout: 30)
        #expect(waitForListing(listing))
        #expect(inherited(listing) == ["0", "1", "2"], "\(String(describing: try? String(contentsOfFile: listing, encoding: .utf8)))")
    }

    @Test func incomingExecSeesOnlyTheStandardThree() throws {
        let listing = scratch.file("fds")
        // The command sends no stream, so the load fails; what matters is what the command inherited.
        let result = try runHMP(["-m", "64", "-incoming", "exec:ls -l /proc/self/fd > \(listing)"], timeout: 20)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(inherited(listing) == ["0", "1", "2"], "\(String(describing: try? String(contentsOfFile: listing, encoding: .utf8)))")
    }
}
