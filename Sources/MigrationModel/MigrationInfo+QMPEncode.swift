public import QObject

/// The reverse of MigrationValues+QMP: hmp's own values in QEMU 7.2's QMP shape, member for member in the
/// order QEMU 7.2 sends them (its internal order, not the schema's), for hmp's QMP server.
extension MigrationInfo {
    /// query-migrate's reply, filled per status as QEMU's fill_source_migration_info does: nothing before the
    /// first migration, only the status in setup and cancelled, the counters while active (and cancelling) and
    /// once completed, status and error-desc when failed. What `presence` rules out stays out: a destination
    /// (fill_destination_migration_info) has its status and, while it listens, its socket addresses only.
    public var queryMigrateReply: QDict {
        var reply = QDict()
        let figures = presence.ram ?? true
        switch status {
        case .none:
            break
        case .setup, .cancelled, .other:
            reply["status"] = .string(status.rawValue)
        case .active, .cancelling, .postcopyActive, .postcopyPaused, .postcopyRecoverSetup, .postcopyRecover,
            .preSwitchover, .device, .waitUnplug, .colo:
            if presence.expectedDowntime ?? true { reply["expected-downtime"] = .uint(expectedDowntime) }
            // populate_ram_info adds it while the throttle is on; QEMU's hash order puts it here.
            if let cpuThrottlePercentage { reply["cpu-throttle-percentage"] = .uint(cpuThrottlePercentage) }
            reply["status"] = .string(status.rawValue)
            if figures, let disk { reply["disk"] = .dict(Self.diskFigures(disk)) }
            if presence.setupTime ?? true { reply["setup-time"] = .uint(setupTime) }
            if figures {
                reply["total-time"] = .uint(totalTime)
                reply["ram"] = .dict(ramFigures)
            }
        case .completed:
            reply["status"] = .string(status.rawValue)
            if presence.setupTime ?? true { reply["setup-time"] = .uint(setupTime) }
            if figures {
                if let downtime { reply["downtime"] = .uint(downtime) }
                reply["total-time"] = .uint(totalTime)
                reply["ram"] = .dict(ramFigures)
            }
        case .failed:
            reply["status"] = .string(status.rawValue)
            if let errorDescription { reply["error-desc"] = .string(errorDescription) }
        }
        if !socketAddresses.isEmpty {
            reply["socket-address"] = .list(socketAddresses.map(Self.socketAddress))
        }
        return reply
    }

    /// QEMU's MigrationStats members, in the order it sends them.
    static let qmpStatsOrder = [
        "total", "postcopy-requests", "dirty-sync-count", "multifd-bytes", "pages-per-second", "downtime-bytes",
        "page-size", "remaining", "postcopy-bytes", "mbps", "transferred", "dirty-sync-missed-zero-copy",
        "precopy-bytes", "duplicate", "dirty-pages-rate", "skipped", "normal-bytes", "normal",
    ]

    private var ramFigures: QDict {
        var figures = QDict()
        for name in Self.qmpStatsOrder {
            if name == "mbps" {
                figures[name] = .double(ram.mbps)
            } else if let field = Self.ramFigures.first(where: { $0.0 == name })?.1 {
                figures[name] = .uint(ram[keyPath: field])
            }
        }
        return figures
    }

    /// QEMU reports the disk in a MigrationStats too: only total, remaining and transferred are filled.
    private static func diskFigures(_ disk: DiskStatistics) -> QDict {
        var figures = QDict()
        for name in qmpStatsOrder {
            switch name {
            case "total": figures[name] = .uint(disk.total)
            case "remaining": figures[name] = .uint(disk.remaining)
            case "transferred": figures[name] = .uint(disk.transferred)
            default: figures[name] = .int(0)
            }
        }
        return figures
    }

    /// `tcp:HOST:PORT` back into QEMU's SocketAddress; other forms as their type.
    private static func socketAddress(_ uri: String) -> QValue {
        if uri.hasPrefix("tcp:"), let colon = uri.lastIndex(of: ":") {
            let host = String(uri[uri.index(uri.startIndex, offsetBy: 4)..<colon])
            let port = String(uri[uri.index(after: colon)...])
            return .dict(["port": .string(port), "ipv4": .bool(!host.contains(":")), "host": .string(host),
                          "type": "inet"])
        }
        if uri.hasPrefix("unix:") {
            return .dict(["path": .string(String(uri.dropFirst(5))), "type": "unix"])
        }
        return .dict(["type": .string(uri)])
    }
}

extension MigrationCapabilities {
    /// query-migrate-capabilities' reply: all 21 in QEMU's order, `{"state": BOOL, "capability": NAME}`.
    public var queryCapabilitiesReply: QValue {
        .list(Self.names.map { .dict(["state": .bool(self[$0]), "capability": .string($0)]) })
    }
}

extension MigrationParameters {
    /// query-migrate-parameters' members in the order QEMU 7.2 sends them.
    static let qmpReplyOrder = [
        "cpu-throttle-tailslow", "xbzrle-cache-size", "cpu-throttle-initial", "announce-max", "decompress-threads",
        "block-bitmap-mapping", "compress-threads", "compress-level", "multifd-channels", "multifd-zstd-level", "announce-initial",
        "block-incremental", "compress-wait-thread", "downtime-limit", "tls-authz", "multifd-compression",
        "announce-rounds", "announce-step", "tls-creds", "multifd-zlib-level", "max-cpu-throttle",
        "max-postcopy-bandwidth", "tls-hostname", "throttle-trigger-threshold", "max-bandwidth",
        "x-checkpoint-delay", "cpu-throttle-increment",
    ]

    /// query-migrate-parameters' reply: block-bitmap-mapping once it has been set. The multifd levels are not
    /// kept by hmp: they stay at QEMU's default 1.
    public var queryParametersReply: QDict {
        var reply = QDict()
        for name in Self.qmpReplyOrder {
            if name == "block-bitmap-mapping" {
                reply[name] = qmpValue(name)
            } else {
                reply[name] = qmpValue(name) ?? .int(1)
            }
        }
        return reply
    }
}
