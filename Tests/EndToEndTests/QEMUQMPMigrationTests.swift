import Foundation
import Testing
import TestSupport

/// A block migration between two hmps driven by a script on QEMU's qemu.qmp library, as an orchestration script
/// drives two QEMUs: MIGRATION events heard in order on both sides, then a migration whose destination is
/// killed mid-way, which fails with an error-desc.
@Suite(.serialized)
struct QEMUQMPMigrationTests {
    static let script = #"""
        import asyncio, os, signal, sys
        from qemu.qmp import QMPClient, EventListener

        async def client(path):
            qmp = QMPClient(path)
            await qmp.connect(path)
            await qmp.execute('migrate-set-capabilities', {'capabilities': [{'capability': 'events', 'state': True}]})
            return qmp

        async def statuses(listener, until):
            seen = []
            while not seen or seen[-1] not in until:
                event = await asyncio.wait_for(listener.get(), 60)
                seen.append(event['data']['status'])
            return seen

        async def main(src_path, dst_path, port, kill_pid):
            src = await client(src_path)
            dst = await client(dst_path)
            print('dst', (await dst.execute('query-status'))['status'], await dst.execute('query-migrate'))
            await src.execute('migrate-set-parameters', {'max-bandwidth': 4 << 20 if kill_pid else 64 << 20})
            src_events = EventListener('MIGRATION')
            dst_events = EventListener('MIGRATION')
            passes = EventListener('MIGRATION_PASS')
            with src.listen(src_events, passes), dst.listen(dst_events):
                print('migrate', await src.execute('migrate', {'uri': f'tcp:127.0.0.1:{port}', 'blk': True}))
                if kill_pid:
                    await asyncio.sleep(0.5)
                    os.kill(kill_pid, signal.SIGKILL)
                    print('src', await statuses(src_events, ('completed', 'failed')))
                    reply = await src.execute('query-migrate')
                    print('failed', sorted(reply), reply['status'], reply['error-desc'])
                    print('status', (await src.execute('query-status'))['status'])
                else:
                    print('src', await statuses(src_events, ('completed', 'failed')))
                    print('dst', await statuses(dst_events, ('completed', 'failed')))
                    print('passes', [e['data']['pass'] for e in passes.history])
                    print('completed', sorted(await src.execute('query-migrate')))
                    print('dst', await dst.execute('query-migrate'))
            for qmp in (src, dst) if not kill_pid else (src,):
                await qmp.execute('quit')
                try:
                    await qmp.disconnect()
                except EOFError:
                    pass

        asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        """#

    /// Runs the script against a fresh pair; `killDestination` kills the destination half a second in.
    private func run(killDestination: Bool) throws -> (output: String, errors: String, status: Int32) {
        let python = try #require(QEMUQMPClientTests.python, "qemu.qmp is not installed in .build/test-venv: run scripts/install-deps test")
        let scratch = TempDir()
        let source = scratch.patternFile("src.img", size: 8 << 20, seed: 9)
        let target = scratch.file("dst.img")
        sparseFile(target, size: 8 << 20)
        let port = freePort()
        let destination = try HMPProcess([
            "-m", "64", "-S", "-drive", "file=\(target)", "-incoming", "tcp:127.0.0.1:\(port)", "-monitor", "none",
            "-qmp", "unix:\(scratch.file("d.sock")),server=on,wait=off",
        ])
        defer { destination.close() }
        let sourceHMP = try HMPProcess([
            "-m", "64", "-S", "-drive", "file=\(source)", "-monitor", "none",
            "-qmp", "unix:\(scratch.file("s.sock")),server=on,wait=off",
        ])
        defer { sourceHMP.close() }
        _ = try RawQMPClient(path: scratch.file("s.sock"))
        _ = try RawQMPClient(path: scratch.file("d.sock"))
        try Self.script.write(toFile: scratch.file("migrate.py"), atomically: true, encoding: .utf8)
        let victim = killDestination ? destination.process.processIdentifier : 0
        let (status, out, err) = try runProgram(
            python, [scratch.file("migrate.py"), scratch.file("s.sock"), scratch.file("d.sock"), String(port),
                     String(victim)], timeout: 90)
        if !killDestination {
            #expect(destination.waitForExit() == 0)
            #expect(FileManager.default.contentsEqual(atPath: source, andPath: target))
        }
        #expect(sourceHMP.waitForExit() == 0)
        return (out, err, status)
    }

    @Test func blockMigrationEventsInOrder() throws {
        let result = try run(killDestination: false)
        #expect(result.status == 0, "\(result.errors)")
        // As QEMU 7.2 (reference §3.1): the destination's own setup came before anyone listened.
        #expect(result.output == """
            dst inmigrate {'socket-address': [{'port': '\(result.output.portNumber)', 'ipv4': True, 'host': '127.0.0.1', 'type': 'inet'}]}
            migrate {}
            src ['setup', 'active', 'completed']
            dst ['active', 'completed']
            passes [1, 2, 3]
            completed ['downtime', 'ram', 'setup-time', 'status', 'total-time']
            dst {'status': 'completed'}

            """, "\(result.errors)")
    }

    @Test func destinationKilledMidWay() throws {
        let result = try run(killDestination: true)
        #expect(result.status == 0, "\(result.errors)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(result.output)\(result.errors)")
        #expect(lines.dropFirst().first == "migrate {}")
        #expect(lines.dropFirst(2).first == "src ['setup', 'active', 'failed']", "\(result.output)")
        #expect(lines.dropFirst(3).first?.hasPrefix("failed ['error-desc', 'status'] failed ") == true, "\(result.output)")
        #expect(lines.last == "status prelaunch", "\(result.output)")
    }
}

extension String {
    /// The port in `'port': 'N'`, for a line that names one.
    fileprivate var portNumber: String {
        guard let range = range(of: #"'port': '[0-9]+'"#, options: .regularExpression) else { return "" }
        return String(self[range].dropFirst(9).dropLast())
    }
}
