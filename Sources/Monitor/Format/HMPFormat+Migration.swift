import MigrationModel

extension HMPFormat {
    /// `info migrate`: the globals, then (once a migration has started) its status and figures. The strings may
    /// come from a QMP peer: each goes through TerminalSafeText.
    static func migrationLines(_ info: MigrationInfo) -> [String] {
        var lines = migrationGlobals
        if !info.blockedReasons.isEmpty {
            lines.append("Outgoing migration blocked:")
            lines += info.blockedReasons.map { "  " + TerminalSafeText.singleLine($0) }
        }
        let active = info.status == .active || info.status == .cancelling
        let showsStatistics = info.presence.ram ?? (active || info.status == .completed)
        if info.status != .none {
            var statusLine = "Migration status: \(TerminalSafeText.singleLine(info.status.rawValue))"
            if info.status == .failed, let errorDescription = info.errorDescription {
                statusLine += " (\(TerminalSafeText.singleLine(errorDescription)))"
            }
            lines.append(statusLine)
            // fill_source_migration_info gives no time in setup or after a failure or cancel; HMP prints 0 then.
            let timed = ![.setup, .failed, .cancelled].contains(info.status)
            lines.append("total time: \(timed ? info.totalTime : 0) ms")
            if info.presence.expectedDowntime ?? active { lines.append("expected downtime: \(info.expectedDowntime) ms") }
            if info.status == .completed, let downtime = info.downtime { lines.append("downtime: \(downtime) ms") }
            if info.presence.setupTime ?? showsStatistics { lines.append("setup: \(info.setupTime) ms") }
        }
        if showsStatistics {
            let ram = info.ram
            lines += [
                "transferred ram: \(ram.transferred >> 10) kbytes",
                "throughput: \(twoDecimals(ram.mbps)) mbps",
                "remaining ram: \(ram.remaining >> 10) kbytes",
                "total ram: \(ram.total >> 10) kbytes",
                "duplicate: \(ram.duplicate) pages",
                "skipped: \(ram.skipped) pages",
                "normal: \(ram.normal) pages",
                "normal bytes: \(ram.normalBytes >> 10) kbytes",
                "dirty sync count: \(ram.dirtySyncCount)",
                "page size: \(ram.pageSize >> 10) kbytes",
                "multifd bytes: \(ram.multifdBytes >> 10) kbytes",
                "pages-per-second: \(ram.pagesPerSecond)",
            ]
            // QEMU prints these only when they are not zero.
            if ram.dirtyPagesRate > 0 { lines.append("dirty pages rate: \(ram.dirtyPagesRate) pages") }
            if ram.postcopyRequests > 0 { lines.append("postcopy request count: \(ram.postcopyRequests)") }
            if ram.precopyBytes > 0 { lines.append("precopy ram: \(ram.precopyBytes >> 10) kbytes") }
            if ram.downtimeBytes > 0 { lines.append("downtime ram: \(ram.downtimeBytes >> 10) kbytes") }
            if ram.postcopyBytes > 0 { lines.append("postcopy ram: \(ram.postcopyBytes >> 10) kbytes") }
            if ram.zeroCopyFallbacks > 0 {
                lines.append("Zero-copy-send fallbacks happened: \(ram.zeroCopyFallbacks) times")
            }
        }
        if let disk = info.disk, info.presence.ram != nil || info.status != .completed {
            lines += [
                "transferred disk: \(disk.transferred >> 10) kbytes",
                "remaining disk: \(disk.remaining >> 10) kbytes",
                "total disk: \(disk.total >> 10) kbytes",
            ]
        }
        if let throttle = info.cpuThrottlePercentage { lines.append("cpu throttle percentage: \(throttle)") }
        if !info.socketAddresses.isEmpty {
            lines.append("socket address: [")
            lines += info.socketAddresses.map { "\t" + TerminalSafeText.singleLine($0) }
            lines.append("]")
        }
        return lines
    }

    /// The migration globals QEMU 7.2 prints first; hmp's stream is made with these settings.
    static let migrationGlobals = [
        "globals:",
        "store-global-state: on",
        "only-migratable: off",
        "send-configuration: on",
        "send-section-footer: on",
        "decompress-error-check: on",
        "clear-bitmap-shift: 18",
    ]

    /// `info migrate_capabilities`: `xbzrle: off`, one line per capability in QEMU's order.
    static func capabilityLines(_ capabilities: MigrationCapabilities) -> [String] {
        MigrationCapabilities.names.map { "\($0): \(capabilities[$0] ? "on" : "off")" }
    }

    /// `info migrate_parameters`, exactly as QEMU 7.2 prints it (each row says its line); the strings may come
    /// from a QMP peer.
    static func parameterLines(_ p: MigrationParameters) -> [String] {
        MigrationParameter.infoRows.compactMap { $0.infoText(p) }.map(TerminalSafeText.singleLine)
            + bitmapMappingLines(p.blockBitmapMapping)
    }

    /// Once set: `block-bitmap-mapping:`, then `  'node' -> 'alias'` and under each `    'bitmap' -> 'alias'`.
    private static func bitmapMappingLines(_ mapping: [BitmapNodeAlias]?) -> [String] {
        guard let mapping else { return [] }
        var lines = ["block-bitmap-mapping:"]
        for node in mapping {
            lines.append(TerminalSafeText.singleLine("  '\(node.nodeName)' -> '\(node.alias)'"))
            lines += node.bitmaps.map { TerminalSafeText.singleLine("    '\($0.name)' -> '\($0.alias)'") }
        }
        return lines
    }
}
