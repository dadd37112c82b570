import Foundation
import Testing
import TestSupport

@Suite struct SocketMonitorTests {
    @Test func clientsTakeTurnsAndQuitEndsHMP() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let hmp = try HMPProcess(["-m", "16", "-monitor", "unix:\(path),server=on,wait=off"])
        do {
            let first = try SocketClient(path: path)
            let banner = try #require(first.readUntilPrompt())
            #expect(banner.hasPrefix("hmp "))
            #expect(first.command("info status") == "VM status: running\n")
            #expect(first.command("stop") == "")
            #expect(first.command("nosuch") == "unknown command: 'nosuch'\n")
        }
        // The first client has gone; the next one is served, and sees the same machine.
        let second = try SocketClient(path: path)
        _ = second.readUntilPrompt()
        #expect(second.command("info status") == "VM status: paused\n")
        #expect(second.command("info history") == "0: 'info status'\n1: 'info history'\n", "each client has its own history")
        second.send("quit")
        #expect(hmp.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: path), "the socket is removed on quit")
    }

    @Test func getfdNamesADescriptorThatMigrateFdUses() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let port = freePort()
        let destination = try HMPProcess(["-m", "16", "-S", "-incoming", "tcp:127.0.0.1:\(port)"])
        defer { destination.close() }
        _ = destination.run("info status")
        let ram = scratch.patternFile("ram.bin", size: 16 << 20, seed: 5)
        let source = try HMPProcess(["-m", "16", "-mem-path", ram, "-monitor", "unix:\(path),server=on,wait=off"])
        defer { source.close() }
        let client = try SocketClient(path: path)
        _ = client.readUntilPrompt()
        #expect(client.command("getfd mig") == "Error: No file descriptor supplied via SCM_RIGHTS\n")
        #expect(client.command("migrate fd:mig") == "Error: File descriptor named 'mig' has not been found\n")
        // A connection made by the client, handed over with the line that names it.
        let connection = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(connection, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        client.send("getfd mig", passing: connection)
        close(connection)
        #expect(client.readUntilPrompt() == "")
        #expect(client.command("migrate fd:mig") == "")
        #expect(client.command("info migrate")?.contains("Migration status: completed") == true)
        let a = scratch.file("a.ram"), b = scratch.file("b.ram")
        #expect(client.command("pmemsave 0 0x1000000 \"\(a)\"") == "")
        destination.waitFor { _ in destination.run("info status") == "VM status: paused\n" }
        #expect(destination.run("pmemsave 0 0x1000000 \"\(b)\"") == "")
        #expect(sameBytes(a, b), "RAM moved through the passed descriptor byte for byte")
        #expect(client.command("closefd nosuch") == "Error: File descriptor named 'nosuch' not found\n")
    }

    @Test func stdinIsNotAMonitorWhenTheSocketIs() throws {
        let scratch = TempDir()
        let path = scratch.file("mon.sock")
        let hmp = try HMPProcess(["-m", "16", "-monitor", "unix:\(path),server=on,wait=off"])
        let client = try SocketClient(path: path)
        _ = client.readUntilPrompt()
        hmp.send("quit")
        #expect(client.command("info status") == "VM status: running\n")
        #expect(hmp.text.isEmpty, "nothing is written to stdout")
        client.send("q")
        #expect(hmp.waitForExit() == 0)
    }
}
