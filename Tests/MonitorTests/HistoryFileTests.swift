import Foundation
@testable import Monitor
import Testing
import TestSupport

/// The terminal's history file: loaded in linear time, and written only where no one else can plant a link.
@Suite struct HistoryFileTests {
    /// A second user (created once) runs `script`; the tests run as root, and fail saying so otherwise.
    private func asOtherUser(_ script: String) throws {
        #expect((try? SecondUser.ensure()) != nil, "useradd \(SecondUser.name) failed: the test needs root")
        #expect(try SecondUser.run(script).status == 0, "\(script)")
    }

    /// 100,000 lines took 29 s (a search of the whole history per line); now one pass with a set.
    @Test func aLongHistoryLoadsInLinearTime() throws {
        let scratch = TempDir()
        let directory = scratch.path
        chmod(directory, 0o700)
        let file = directory + "/history"
        let lines = (0..<100_000).map { "info status \($0 % 50_000)" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let start = Date()
        let history = CommandHistory(file: file)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 3, "loading took \(elapsed) s")
        // As `add` would have left them: each line where it last occurs, the newest 1000.
        #expect(history.entries == (49_000..<50_000).map { "info status \($0)" })
        #expect(CommandHistory.lines(of: "a\nb\na\n\nc\nb\n", limit: 10) == ["a", "c", "b"])
        #expect(CommandHistory.lines(of: "a\nb\na\nc\nb\n", limit: 2) == ["c", "b"])
    }

    /// A HOME another user can write to: they make the state directory and point `history.tmp` at a file of
    /// ours. hmp wrote its history through the link; now it leaves a directory it does not own alone.
    @Test func aLinkPlantedInAnotherUsersDirectoryIsNotFollowed() throws {
        let scratch = TempDir()
        let home = scratch.path
        chmod(home, 0o777)
        let victim = home + "/victim"
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let state = home + "/.local/state/hmp"
        try asOtherUser("mkdir -p '\(state)' && ln -s '\(victim)' '\(state)/history.tmp' && ln -s '\(victim)' '\(state)/history'")
        let history = CommandHistory(file: state + "/history")
        history.add("info status")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(history.entries == ["info status"])
    }

    /// Our own state directory, left open to others: they plant `history.tmp`. It is closed to 0700 and the
    /// history goes through a new file of a random name, never the planted link.
    @Test func aLinkPlantedInAnOpenDirectoryOfOursIsNotFollowed() throws {
        let scratch = TempDir()
        let home = scratch.path
        chmod(home, 0o755)
        let victim = home + "/victim"
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let state = home + "/hmp"
        #expect(mkdir(state, 0o777) == 0)
        chmod(state, 0o777)
        try asOtherUser("ln -s '\(victim)' '\(state)/history.tmp'")
        let history = CommandHistory(file: state + "/history")
        history.add("info status")
        history.add("info name")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try String(contentsOfFile: state + "/history", encoding: .utf8) == "info status\ninfo name\n")
        var info = stat()
        #expect(stat(state, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(lstat(state + "/history", &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o777 == 0o600)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).sorted() == ["history", "history.tmp"])
    }
}
