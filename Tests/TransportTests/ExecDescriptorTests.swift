import Foundation
import Glibc
import Testing
@testable import Migration
import TestSupport

/// An `exec:` command closes, in the child, every descriptor from 3 up: even one opened without O_CLOEXEC by
/// code that is not ours is not inherited.
@Suite struct ExecDescriptorTests {
    @Test func aLeakedDescriptorIsNotInherited() throws {
        let directory = TempDir()
        let listing = directory.file("fds")
        // Opened the careless way, inheritable.
        let leaked = Glibc.open("/dev/null", O_RDONLY)
        #expect(leaked > 2)
        defer { Glibc.close(leaked) }
        #expect(fcntl(leaked, F_GETFD) & FD_CLOEXEC == 0)
        let channel = try Transport.connect(
            .exec(command: "ls /proc/self/fd > '\(listing)'"), fds: { _ in nil }, isCancelled: notCancelled)
        channel.close()
        let names = try String(contentsOfFile: listing, encoding: .utf8).split(separator: "\n").map(String.init)
        // ls's own directory descriptor is the fourth.
        #expect(names == ["0", "1", "2", "3"], "\(names)")
    }
}
