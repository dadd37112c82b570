import Foundation
import Glibc
import Testing
import TestSupport

/// A QEMU that stops answering (SIGSTOP, as a hung or stopped process) never freezes hmp: its other monitors
/// answer at once, a command that waits for QEMU ends with a line naming what QEMU did not answer, and SIGTERM
/// ends hmp without waiting for QEMU. On QEMU 7.2 and 10.0 alike.
@Suite(.serialized) struct ConnectStallTests {
    let scratch = TempDir()

    @Test(arguments: QEMUVersion.allCases) func stoppedQEMUFreezesNothing(version: QEMUVersion) throws {
        let qemu = try QEMUProcess(scratch: scratch, name: "q", version: version)
        defer {
            kill(qemu.pid, SIGCONT)
            qemu.kill()
        }
        let socket = scratch.file("hmp.sock")
        let hmp = try HMPProcess(["--connect", qemu.qmpAddress, "-monitor", "stdio",
                                  "-monitor", "unix:\(socket),server=on,wait=off"])
        defer { hmp.close() }
        #expect(hmp.run("info status") == "VM status: paused (prelaunch)\n")
        let other = try SocketClient(path: socket)
        #expect(other.readUntilPrompt() != nil)

        kill(qemu.pid, SIGSTOP)
        // Two commands wait for QEMU, one on each monitor: neither holds up the other's next line for long.
        hmp.send("info status")
        let started = Date()
        other.send("info history")
        let history = other.readUntilPrompt(timeout: 2)
        #expect(history?.contains("0: 'info history'") == true, "\(String(describing: history))")
        #expect(Date().timeIntervalSince(started) < 2)
        other.send("migrate_cancel")
        other.send("info version")
        // The stdin command ends at its deadline, naming what QEMU did not answer.
        hmp.waitFor(timeout: 45) { $0.contains("did not answer") }
        #expect(hmp.text.contains("Error: QEMU at \(qemu.qmpAddress) did not answer human-monitor-command within"),
                "\(hmp.text)")

        // SIGTERM ends hmp at once, though QEMU still does not answer.
        let terminated = Date()
        kill(hmp.process.processIdentifier, SIGTERM)
        #expect(hmp.waitForExit(timeout: 5) != nil)
        #expect(Date().timeIntervalSince(terminated) < 5)
    }
}
