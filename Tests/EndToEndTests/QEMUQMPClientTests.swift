import Foundation
import Testing
import TestSupport

/// QEMU's own Python QMP library (`qemu.qmp` from PyPI, in the venv `scripts/install-deps test` makes at
/// .build/test-venv) against hmp's server: if the library that drives QEMU in QEMU's own tests is happy, so are
/// the scripts built on it. Without it the test fails, saying how to install it.
@Suite(.serialized)
struct QEMUQMPClientTests {
    /// The venv's python, when it has qemu.qmp.
    static let python: String? = {
        let python = FileManager.default.currentDirectoryPath + "/.build/test-venv/bin/python"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import qemu.qmp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? python : nil
    }()

    static let script = #"""
        import asyncio, sys
        from qemu.qmp import QMPClient, ExecuteError, EventListener

        async def main(path):
            qmp = QMPClient('hmp-test')
            await qmp.connect(path)
            version = qmp.greeting.QMP.version
            print("greeting", version["qemu"]["major"], version["qemu"]["minor"], version["qemu"]["micro"], version["package"])
            print("status", (await qmp.execute('query-status'))['status'])
            print("hmc", repr(await qmp.execute('human-monitor-command', {'command-line': 'info status'})))
            try:
                await qmp.execute('nosuch-command')
            except ExecuteError as e:
                print("error", e.error_class, str(e))
            listener = EventListener()
            with qmp.listen(listener):
                print("cont", await qmp.execute('cont'))
                event = await asyncio.wait_for(listener.get(), 5)
                print("event", event['event'])
            print("capabilities", len(await qmp.execute('query-migrate-capabilities')))
            print("quit", await qmp.execute('quit'))
            # The server hangs up after quit's reply, as QEMU does: the library reports that end as EOFError.
            try:
                await qmp.disconnect()
            except EOFError:
                pass
            print("disconnected")

        asyncio.run(main(sys.argv[1]))
        """#

    @Test func qemuQMPLibraryDrivesHMP() throws {
        let python = try #require(Self.python, "qemu.qmp is not installed in .build/test-venv: run scripts/install-deps test")
        let scratch = TempDir()
        let socket = scratch.file("q.sock")
        let hmp = try HMPProcess(["-m", "64", "-S", "-monitor", "none", "-qmp", "unix:\(socket),server=on,wait=off"])
        defer { hmp.close() }
        _ = try RawQMPClient(path: socket)
        try Self.script.write(toFile: scratch.file("client.py"), atomically: true, encoding: .utf8)
        let (status, out, err) = try runProgram(python, [scratch.file("client.py"), socket], timeout: 30)
        #expect(status == 0, "\(err)")
        #expect(out == """
            greeting 7 2 22 hmp 0.1.0
            status prelaunch
            hmc 'VM status: paused (prelaunch)\\r\\n'
            error CommandNotFound The command nosuch-command has not been found
            cont {}
            event RESUME
            capabilities 21
            quit {}
            disconnected

            """, "\(err)")
        #expect(hmp.waitForExit() == 0)
    }
}
