import Platform
public import QObject

/// query-migrate's reply, both ways: a QMP backend decodes a real QEMU's into the value the monitor renders, and
/// hmp's QMP server sends its own in the same shape.
extension MigrationInfo {
    /// query-migrate's reply: what is absent stays absent, so `info migrate` prints the lines QEMU's would. The
    /// peer is untrusted: a figure that is no uint64 (negative, fractional, past 2^64, not a number) reads as 0,
    /// `mbps` may be any double (HMPFormat.twoDecimals prints inf and huge ones as %0.2f would), and strings are
    /// kept as sent, to be made printable where they are shown (TerminalSafeText).
    public init(queryMigrate reply: QDict) {
        self.init()
        status = reply["status"]?.string.map(MigrationStatus.init(name:)) ?? .none
        errorDescription = reply["error-desc"]?.string
        totalTime = reply["total-time"]?.uint ?? 0
        setupTime = reply["setup-time"]?.uint ?? 0
        expectedDowntime = reply["expected-downtime"]?.uint ?? 0
        downtime = reply["downtime"]?.uint
        presence = Presence(
            expectedDowntime: reply.contains("expected-downtime"), setupTime: reply.contains("setup-time"),
            ram: reply.contains("ram"))
        if let ram = reply["ram"]?.dict {
            for (key, field) in Self.ramFigures { self.ram[keyPath: field] = ram[key]?.uint ?? 0 }
            self.ram.mbps = ram["mbps"]?.double ?? 0
        }
        if let disk = reply["disk"]?.dict {
            self.disk = DiskStatistics(
                transferred: disk["transferred"]?.uint ?? 0, remaining: disk["remaining"]?.uint ?? 0,
                total: disk["total"]?.uint ?? 0)
        }
        cpuThrottlePercentage = reply["cpu-throttle-percentage"]?.uint
        blockedReasons = reply["blocked-reasons"]?.list?.compactMap(\.string) ?? []
        socketAddresses = reply["socket-address"]?.list?.compactMap { $0.dict.map(Self.socketURI) } ?? []
    }

    /// query-migrate's `ram` members that are byte or page counts, by QEMU's names.
    static let ramFigures: [(String, any WritableKeyPath<RAMStatistics, UInt64> & Sendable)] = [
        ("transferred", \.transferred), ("remaining", \.remaining), ("total", \.total),
        ("duplicate", \.duplicate), ("skipped", \.skipped), ("normal", \.normal), ("normal-bytes", \.normalBytes),
        ("dirty-sync-count", \.dirtySyncCount), ("pages-per-second", \.pagesPerSecond),
        ("dirty-pages-rate", \.dirtyPagesRate), ("downtime-bytes", \.downtimeBytes),
        ("precopy-bytes", \.precopyBytes), ("postcopy-bytes", \.postcopyBytes),
        ("postcopy-requests", \.postcopyRequests), ("page-size", \.pageSize), ("multifd-bytes", \.multifdBytes),
        ("dirty-sync-missed-zero-copy", \.zeroCopyFallbacks),
    ]

    /// QEMU's socket_uri: `tcp:HOST:PORT`, `unix:PATH`, `fd:NAME`, `vsock:CID:PORT`.
    private static func socketURI(_ address: QDict) -> String {
        switch address["type"]?.string {
        case "inet": "tcp:\(address["host"]?.string ?? ""):\(address["port"]?.string ?? "")"
        case "unix": "unix:\(address["path"]?.string ?? "")"
        case "fd": "fd:\(address["str"]?.string ?? "")"
        case "vsock": "vsock:\(address["cid"]?.string ?? ""):\(address["port"]?.string ?? "")"
        default: address["type"]?.string ?? "unknown"
        }
    }

    /// hmp's own query-migrate reply, filled per status as QEMU's fill_source_migration_info does: nothing before the
    /// first migration, only the status in setup and cancelled, the counters while active (and cancelling) and
    /// once completed, status and error-desc when failed. What `presence` rules out stays out: a destination
    /// (fill_destination_migration_info) has its status and, while it listens, its socket addresses only. The
    /// members come out in QEMU's QDict order, as QEMU sends them.
    public var queryMigrateReply: QDict {
        var reply = QDict()
        if status != .none { reply["status"] = .string(status.rawValue) }
        if status == .failed, let errorDescription { reply["error-desc"] = .string(errorDescription) }
        let counting = switch status {
        case .none, .setup, .cancelled, .failed, .other: false
        default: true
        }
        if counting {
            let figures = presence.ram ?? true
            if status == .completed {
                if figures, let downtime { reply["downtime"] = .uint(downtime) }
            } else {
                if presence.expectedDowntime ?? true { reply["expected-downtime"] = .uint(expectedDowntime) }
                // populate_ram_info adds it while the throttle is on.
                if let cpuThrottlePercentage { reply["cpu-throttle-percentage"] = .uint(cpuThrottlePercentage) }
                if figures, let disk { reply["disk"] = .dict(Self.statistics(disk: disk)) }
            }
            if presence.setupTime ?? true { reply["setup-time"] = .uint(setupTime) }
            if figures {
                reply["total-time"] = .uint(totalTime)
                reply["ram"] = .dict(Self.statistics(ram: ram))
            }
        }
        if !socketAddresses.isEmpty {
            reply["socket-address"] = .list(socketAddresses.map(Self.socketAddress))
        }
        return reply.inQEMUOrder
    }

    private static func statistics(ram: RAMStatistics) -> QDict {
        var figures = QDict(ramFigures.map { ($0.0, QValue.uint(ram[keyPath: $0.1])) })
        figures["mbps"] = .double(ram.mbps)
        return figures
    }

    /// QEMU reports the disk in a MigrationStats too: only total, remaining and transferred are filled.
    private static func statistics(disk: DiskStatistics) -> QDict {
        var figures = QDict((ramFigures.map(\.0) + ["mbps"]).map { ($0, QValue.int(0)) })
        figures["total"] = .uint(disk.total)
        figures["remaining"] = .uint(disk.remaining)
        figures["transferred"] = .uint(disk.transferred)
        return figures
    }

    /// `tcp:HOST:PORT` back into QEMU's SocketAddress; other forms as their type.
    private static func socketAddress(_ uri: String) -> QValue {
        switch try? QEMUSocketAddress.parse(uri) {
        case .tcp(let host, let port):
            .dict(["port": .string(port), "ipv4": .bool(!host.contains(":")), "host": .string(host), "type": "inet"])
        case .unix(let path): .dict(["path": .string(path), "type": "unix"])
        case nil: .dict(["type": .string(uri)])
        }
    }
}
