import Glibc
import MigrationModel
import Platform

/// A synchronous `migrate` at a terminal: the monitor is suspended, a status line pinned to the bottom row is
/// redrawn once a second (the seed's hmp_migrate_status_cb, with more to say), ^C cancels, ^Z detaches, and what
/// the person types meanwhile is kept for the prompt that comes back. Quit from another monitor or an ending
/// signal (MonitorHub.isQuitting, with a byte on the wake-up pipe) cancels the migration and leaves at once, the
/// terminal restored. It runs the event loop while it waits, so every other monitor is served meanwhile.
struct MigrationStatusView {
    let migration: any MigrationHandle
    let watch: MigrationWatch
    let session: MonitorSession
    let hub: MonitorHub
    /// The guest's run state now, for the summary of a failed or cancelled migration.
    let runState: () -> RunState
    let loop: EventLoop
    /// The keys typed while waiting; those that are not ^C or ^Z go back, to be edited and run after.
    let keys: TerminalKeys
    let terminal = Terminfo.current
    /// How long QEMU may stay silent before a second ^C gives up waiting for it.
    static let silentMilliseconds: UInt64 = 2000

    func run() {
        var saved = termios()
        let haveTermios = tcgetattr(0, &saved) == 0
        if haveTermios {
            // Keys one at a time, unechoed, and ^C as a key rather than a signal.
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
            tcsetattr(0, TCSANOW, &raw)
        }
        defer { if haveTermios { tcsetattr(0, TCSANOW, &saved) } }

        let pinned = terminal.canPinStatusLine
        var size = Terminfo.size()
        session.print(MigrationStatusText.keysIntroduction)
        if pinned { session.write(terminal.reserveBottomRow(rows: size.rows)) }
        var typed: [UInt8] = []
        var lastDraw: UInt64 = 0
        var drawNow = true
        var lastSent: UInt64 = 0
        var lastProgress = Clock.milliseconds()
        var cancelled = false
        var detachedByKey = false
        var abandonedSilent = false
        var drawnWidth = 0
        // Its own watch: the status view sees resizes without taking them from anyone else.
        var signals = SignalWatch()
        var quitting = false

        while true {
            if hub.isQuitting {
                if !migration.outlivesMonitor { migration.cancel() }
                quitting = true
                break
            }
            let info = migration.info
            if info.status.isFinished { break }
            let now = Clock.milliseconds()
            let sent = MigrationStatusText.sum(info.ram.transferred, info.disk?.transferred ?? 0)
            if sent != lastSent {
                lastSent = sent
                lastProgress = now
            }
            if signals.take().contains(.resize), pinned {
                session.write(terminal.releaseBottomRow(rows: size.rows))
                size = Terminfo.size()
                session.write(terminal.reserveBottomRow(rows: size.rows))
                drawNow = true
            }
            if printNotifications(pinned: pinned, drawnWidth: &drawnWidth) { drawNow = true }
            if drawNow || now - lastDraw >= 1000 {
                let stalled = Int((now - lastProgress) / 1000)
                let text = MigrationStatusText.line(
                    info, width: size.columns - 1, stalledSeconds: stalled, qemuFigure: !pinned)
                if pinned {
                    session.write(terminal.drawBottomRow(text, rows: size.rows))
                } else {
                    // A dumb terminal: one line redrawn in place with a carriage return.
                    let padding = String(repeating: " ", count: max(0, drawnWidth - text.count))
                    session.write("\r" + text + padding)
                    drawnWidth = text.count
                }
                lastDraw = now
                drawNow = false
            }
            loop.runOnce(timeout: 100)
            for byte in keys.take() {
                switch byte {
                case 0x03 where !cancelled:
                    migration.cancel()
                    cancelled = true
                    drawNow = true
                case 0x03 where migration.unansweredMilliseconds >= Self.silentMilliseconds:
                    // QEMU does not answer (stopped, or stuck): waiting longer cannot end; the prompt comes back.
                    abandonedSilent = true
                case 0x03:
                    break
                case 0x1A:
                    detachedByKey = true
                default:
                    typed.append(byte)
                }
            }
            if detachedByKey || abandonedSilent { break }
        }

        _ = printNotifications(pinned: pinned, drawnWidth: &drawnWidth)
        if pinned {
            session.write(terminal.releaseBottomRow(rows: size.rows))
        } else if drawnWidth > 0 {
            session.write("\r" + String(repeating: " ", count: drawnWidth) + "\r")
        }
        if quitting {
            // hmp is ending: no summary, the prompt does not come back.
        } else if abandonedSilent && watch.detach() {
            session.print(
                "QEMU has not answered for \(migration.unansweredMilliseconds / 1000) s: hmp stops waiting; "
                    + "info migrate shows the migration once QEMU answers again")
        } else if detachedByKey && watch.detach() {
            session.print("Migration continues in the background: info migrate shows it, migrate_cancel stops it")
        } else {
            session.print(MigrationStatusText.summary(migration.info, runState: runState()))
        }
        keys.giveBack(typed)
        // Lines that arrived meanwhile wait for the editor: it prints them once it looks at its wake-ups again.
        loop.wake()
    }

    /// Events (QEMU's, or a line for every monitor) as they happen, above the status line; true when any came.
    private func printNotifications(pinned: Bool, drawnWidth: inout Int) -> Bool {
        let arrived = session.takeNotifications()
        guard !arrived.isEmpty else { return false }
        if !pinned, drawnWidth > 0 {
            session.write("\r" + String(repeating: " ", count: drawnWidth) + "\r")
            drawnWidth = 0
        }
        for line in arrived { session.print(line) }
        return true
    }
}
