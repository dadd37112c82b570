import MigrationModel

/// The words of the migration status line and of the summary that replaces it. Pure, so that tests can read it.
enum MigrationStatusText {
    static let keys = "^C cancel, ^Z detach"
    /// Printed once before the status line appears: a narrow line drops the keys first.
    static let keysIntroduction = "Migrating: ^C cancels it, ^Z detaches (it goes on; info migrate shows it)"

    /// The status line for `info`, fitted to `width` columns: led by `Completed N %`, N the whole migration (RAM
    /// and disks); the send rate, what is left and the estimate (or why there is none) stay; the rest comes in as
    /// room allows, the keys last. Before there are figures (setup, disks still being sized) it says what it waits
    /// for and shows no figure at all, rather than zeros that are not true. `stalledSeconds` is how long nothing has
    /// been sent. `qemuFigure` puts QEMU's own `Completed N %` (the disk figure of a block migration) first, for a
    /// dumb terminal, where scripts read it; the whole migration's figure then reads `N % migrated`.
    static func line(_ info: MigrationInfo, width: Int, stalledSeconds: Int, qemuFigure: Bool = false) -> String {
        var layout = StatusLineLayout()
        if qemuFigure, let disk = info.disk, disk.total > 0 { layout.add(0, "Completed \(disk.percent) %") }
        if let waiting = waitingFor(info) {
            layout.add(0, waiting)
            layout.add(5, keys)
            return layout.render(width: width)
        }
        let diagnosis = MigrationDiagnosis(info, stalledSeconds: stalledSeconds)
        if info.status == .cancelling { layout.add(0, "cancelling") }
        if let percent = progressPercent(info) {
            // The figure goes back when a sync finds pages dirtied since they were sent: the pass says so.
            // As QEMU counts them, setup's sync starts pass 1: the pass is said from the second on.
            let pass = info.pass > 1 ? " (pass \(info.pass))" : ""
            if qemuFigure {
                layout.add(0, "\(percent) % migrated\(pass)", "\(percent) %\(pass)")
            } else {
                layout.add(0, "Completed \(percent) %\(pass)", "Completed \(percent) %")
            }
        }
        let rate = bytesPerSecond(info)
        // No rate yet in the first second is not a rate of 0: it is still being measured. Later, or in a stall, a
        // 0 is true.
        let measuring = if case .converging = diagnosis {
            rate == 0 && info.totalTime - min(info.totalTime, info.setupTime) < 1000
        } else {
            false
        }
        layout.add(0, measuring ? "measuring the rate" : rateText(rate), measuring ? "measuring" : rateText(rate))
        layout.add(0, "\(mebibytes(left(info))) MiB left")
        switch diagnosis {
        case .converging(let seconds):
            if let seconds { layout.add(0, "ETA \(duration(seconds))") }
        case .notConverging:
            layout.add(0, "not converging")
        case .destinationNotReading(let seconds):
            // The cause itself is essential: without it a stall says nothing the frozen figures do not.
            layout.add(0, "stalled \(seconds) s: destination not reading", "destination not reading", "dest. not reading")
        case .bandwidthTooLow(let seconds, let limit):
            layout.add(0, "stalled \(seconds) s: max-bandwidth \(rateText(Double(limit)))", "max-bandwidth too low")
        case .stalled(let seconds):
            layout.add(0, "stalled \(seconds) s")
        }
        if let throttle = info.cpuThrottlePercentage, throttle > 0 { layout.add(1, "throttle \(throttle) %") }
        addAdvice(&layout, diagnosis, info)
        // What is moving now comes in with the detail, so that a narrow line keeps it; the other only as room allows.
        let diskMoving = diskIsMovingNow(info)
        let ramDone = info.ram.total - min(info.ram.total, info.ram.remaining)
        layout.add(diskMoving ? 4 : 3, "RAM \(mebibytes(ramDone))/\(mebibytes(info.ram.total)) MiB")
        if let disk = info.disk, disk.total > 0 {
            let done = disk.total - min(disk.total, disk.remaining)
            layout.add(diskMoving ? 3 : 4, "disk \(mebibytes(done))/\(mebibytes(disk.total)) MiB")
        }
        let dirtyRate = MigrationDiagnosis.headway(info).dirtyRate
        if info.pass > 0, dirtyRate > 0, case .converging = diagnosis {
            layout.add(4, "dirtying \(rateText(dirtyRate))")
        }
        layout.add(5, keys)
        return layout.render(width: width)
    }

    /// What the person can do about a migration that is not getting anywhere, longest first.
    private static func addAdvice(
        _ layout: inout StatusLineLayout, _ diagnosis: MigrationDiagnosis, _ info: MigrationInfo
    ) {
        let retry = "^C and migrate_set_capability auto-converge on"
        switch diagnosis {
        case .converging:
            break
        case .destinationNotReading:
            layout.add(2, "its queue is full: is it stopped or overloaded? ^C cancels", "stopped or overloaded?")
        case .bandwidthTooLow:
            layout.add(2, "raise max-bandwidth")
        case .stalled:
            layout.add(2, "nothing moves: is the destination still there? ^C cancels", "nothing moves")
        case .notConverging(let dirtyRate, let limitReached):
            let dirtying = "guest dirties \(rateText(dirtyRate))"
            let remedy = "raise max-bandwidth or downtime-limit"
            // Another QEMU does not say whether auto-converge is on, but a throttle says it is.
            if info.autoConverge == true || info.cpuThrottlePercentage != nil {
                layout.add(
                    2, "\(dirtying): auto-converge slows the guest down; if it stays, \(remedy)",
                    "auto-converge slows the guest; or \(remedy)", "auto-converge at work")
            } else if limitReached == nil {
                layout.add(
                    2, "\(dirtying): \(remedy), or \(retry)", "\(remedy), or \(retry)",
                    "raise max-bandwidth, or auto-converge", "try auto-converge")
            } else if limitReached == true {
                layout.add(
                    2, "\(dirtying), at max-bandwidth: raise max-bandwidth or downtime-limit, or \(retry)",
                    "raise max-bandwidth or downtime-limit, or \(retry)", "raise max-bandwidth, or auto-converge",
                    "raise max-bandwidth")
            } else {
                layout.add(
                    2, "\(dirtying), as fast as the link: raise downtime-limit, or \(retry)",
                    "raise downtime-limit, or \(retry)", "raise downtime-limit or auto-converge", "try auto-converge")
            }
        }
    }

    /// What the line waits for before it has figures, or nil once it has them: the connection and setup, then a
    /// block migration's disks being sized (until then `left` would miss them and grow when they join).
    static func waitingFor(_ info: MigrationInfo) -> String? {
        if info.status == .setup { return "connecting: waiting for the destination" }
        guard info.status == .active || info.status == .preSwitchover || info.status == .device else { return nil }
        if let disk = info.disk, disk.total == 0 { return "sizing the disks" }
        if info.ram.total == 0 && info.disk == nil { return "waiting for the first figures" }
        return nil
    }

    /// Whether the disks rather than RAM are what moves now: they have bytes left and RAM has not started, or they
    /// have the larger share left.
    static func diskIsMovingNow(_ info: MigrationInfo) -> Bool {
        guard let disk = info.disk, disk.total > 0, disk.remaining > 0 else { return false }
        let ramDone = info.ram.total - min(info.ram.total, info.ram.remaining)
        if ramDone == 0 { return true }
        let diskShare = Double(disk.remaining) / Double(disk.total)
        let ramShare = info.ram.total > 0 ? Double(info.ram.remaining) / Double(info.ram.total) : 0
        return diskShare >= ramShare
    }

    /// What is left as bytes on the wire, for the estimate: RAM pages that turn out to be zero go as a few bytes each,
    /// so RAM left counts at the share of its processed pages' bytes that was really sent (a guest of mostly zero
    /// pages would otherwise get an estimate many times too long); disks count whole.
    static func wireBytesLeft(_ info: MigrationInfo) -> UInt64 {
        let processed = Double(info.ram.duplicate) + Double(info.ram.normal)
        var ram = Double(info.ram.remaining)
        if processed > 0, info.ram.pageSize > 0, info.ram.transferred > 0 {
            let share = Double(info.ram.transferred) / (processed * Double(info.ram.pageSize))
            if share.isFinite { ram *= min(1, max(share, 0.001)) }
        }
        return sum(bytes(ram), info.disk?.remaining ?? 0)
    }

    /// The whole migration's progress, RAM and disk together, in whole percent rounded down, so that it reads 100
    /// only once nothing is left and the migration has completed; nil while the size is not known yet (a block
    /// migration still sizing its disks).
    static func progressPercent(_ info: MigrationInfo) -> Int? {
        if let disk = info.disk, disk.total == 0 { return nil }
        let total = sum(info.ram.total, info.disk?.total ?? 0)
        guard total > 0 else { return nil }
        let done = total - min(total, left(info))
        let percent = Int(Double(done) * 100 / Double(total))
        return info.status == .completed ? 100 : min(percent, 99)
    }

    static func left(_ info: MigrationInfo) -> UInt64 {
        sum(info.ram.remaining, info.disk?.remaining ?? 0)
    }

    /// Figures from another QEMU may be anything: sums saturate rather than trap.
    static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : total
    }

    /// A non-negative finite double as bytes, saturating.
    static func bytes(_ value: Double) -> UInt64 {
        guard value.isFinite, value > 0 else { return 0 }
        return value >= 1.8e19 ? .max : UInt64(value)
    }

    /// A rate in MiB/s, or KiB/s below one MiB/s so that a slow trickle does not read as nothing.
    static func rateText(_ bytesPerSecond: Double) -> String {
        guard bytesPerSecond.isFinite, bytesPerSecond > 0 else { return "0 MiB/s" }
        if bytesPerSecond < Double(1 << 20) { return "\(max(1, Int((bytesPerSecond / 1024).rounded()))) KiB/s" }
        return "\(mebibytes(bytes(bytesPerSecond))) MiB/s"
    }

    /// One line saying how a migration ended; after a failure or a cancel it says what the guest here is doing
    /// now (`runState`), since a guest that was paused stays paused.
    static func summary(_ info: MigrationInfo, runState: RunState) -> String {
        let guest = switch runState {
        case .running: "the guest keeps running here"
        case .paused: "the guest is still paused here"
        default: "the guest is still paused here (\(runState.rawValue))"
        }
        switch info.status {
        case .completed:
            let sent = sum(info.ram.transferred, info.disk?.transferred ?? 0)
            let seconds = Double(max(1, info.totalTime)) / 1000
            return "Migration completed in \(HMPFormat.twoDecimals(seconds)) s: downtime \(info.downtime ?? 0) ms, "
                + "\(mebibytes(sent)) MiB sent at \(mebibytes(bytes(Double(sent) / seconds))) MiB/s"
        case .failed:
            let reason = info.errorDescription.map(TerminalSafeText.singleLine) ?? "unknown error"
            return "Migration failed: \(reason); \(guest)"
        case .cancelled:
            return "Migration cancelled; \(guest)"
        default:
            // A status hmp does not know is the peer's own word.
            return "Migration \(TerminalSafeText.singleLine(info.status.rawValue))"
        }
    }

    /// What a pipe or socket monitor prints for a failed migration, as QEMU's hmp_handle_error would; a QMP peer
    /// wrote the description, so it is made printable.
    static func errorLine(_ info: MigrationInfo) -> String {
        "Error: \(info.errorDescription.map(TerminalSafeText.singleLine) ?? "migration failed")"
    }

    /// The send rate; a peer's `mbps` that is infinite or negative (JSON's `1e999`, `-5`) says nothing: 0.
    static func bytesPerSecond(_ info: MigrationInfo) -> Double {
        let rate = info.ram.mbps * 1_000_000 / 8
        return rate.isFinite && rate > 0 ? rate : 0
    }

    /// Rounded to the nearest MiB.
    static func mebibytes(_ bytes: UInt64) -> UInt64 { (bytes >> 20) + ((bytes >> 19) & 1) }

    /// `m:ss` or `h:mm:ss`; an estimate of 100 hours or more (or none that makes sense) reads as such.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 360_000 else { return "over 99 h" }
        let total = Int(seconds.rounded(.up))
        return total >= 3600
            ? "\(total / 3600):" + twoDigits((total / 60) % 60) + ":" + twoDigits(total % 60)
            : "\(total / 60):" + twoDigits(total % 60)
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
