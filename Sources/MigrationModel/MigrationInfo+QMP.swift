public import QObject

/// QEMU 7.2's QMP spelling of the migration values, both ways: a QMP backend decodes a real QEMU's replies into
/// the values the monitor renders, and (later) hmp's QMP server sends its own values in the same shape.
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
}

extension MigrationCapabilities {
    /// query-migrate-capabilities' reply: `[{"capability": NAME, "state": BOOL}, ...]`.
    public init(queryCapabilities reply: [QValue]) {
        let on = reply.compactMap { entry -> String? in
            guard let entry = entry.dict, entry["state"]?.bool == true else { return nil }
            return entry["capability"]?.string
        }
        self.init(enabled: Set(on))
    }
}

extension MigrationParameters {
    /// query-migrate-parameters' reply; a member QEMU leaves out keeps its default.
    public init(queryParameters reply: QDict) {
        self.init()
        for name in Self.names {
            if let value = reply[name] { assign(name, value) }
        }
    }

    /// The value of `name` as migrate-set-parameters takes it, nil for a name QEMU 7.2's HMP accepts but does
    /// not send (the multifd levels) and for a block-bitmap-mapping never set.
    public func qmpValue(_ name: String) -> QValue? {
        switch name {
        case "announce-initial": .uint(announceInitial)
        case "announce-max": .uint(announceMax)
        case "announce-rounds": .uint(announceRounds)
        case "announce-step": .uint(announceStep)
        case "compress-level": .int(Int64(compressLevel))
        case "compress-threads": .int(Int64(compressThreads))
        case "compress-wait-thread": .bool(compressWaitThread)
        case "decompress-threads": .int(Int64(decompressThreads))
        case "throttle-trigger-threshold": .int(Int64(throttleTriggerThreshold))
        case "cpu-throttle-initial": .int(Int64(cpuThrottleInitial))
        case "cpu-throttle-increment": .int(Int64(cpuThrottleIncrement))
        case "cpu-throttle-tailslow": .bool(cpuThrottleTailslow)
        case "max-cpu-throttle": .int(Int64(maxCPUThrottle))
        case "tls-creds": .string(tlsCreds)
        case "tls-hostname": .string(tlsHostname)
        case "tls-authz": .string(tlsAuthz)
        case "max-bandwidth": .uint(maxBandwidth)
        case "downtime-limit": .uint(downtimeLimit)
        case "x-checkpoint-delay": .int(Int64(xCheckpointDelay))
        case "block-incremental": .bool(blockIncremental)
        case "multifd-channels": .int(Int64(multifdChannels))
        case "multifd-compression": .string(multifdCompression.rawValue)
        case "xbzrle-cache-size": .uint(xbzrleCacheSize)
        case "max-postcopy-bandwidth": .uint(maxPostcopyBandwidth)
        case "block-bitmap-mapping": blockBitmapMapping.map { .list($0.map(\.qmpValue)) }
        default: nil
        }
    }

    private mutating func assign(_ name: String, _ value: QValue) {
        func byte(_ v: QValue) -> UInt8 { UInt8(clamping: v.uint ?? 0) }
        switch name {
        case "announce-initial": announceInitial = value.uint ?? announceInitial
        case "announce-max": announceMax = value.uint ?? announceMax
        case "announce-rounds": announceRounds = value.uint ?? announceRounds
        case "announce-step": announceStep = value.uint ?? announceStep
        case "compress-level": compressLevel = byte(value)
        case "compress-threads": compressThreads = byte(value)
        case "compress-wait-thread": compressWaitThread = value.bool ?? compressWaitThread
        case "decompress-threads": decompressThreads = byte(value)
        case "throttle-trigger-threshold": throttleTriggerThreshold = byte(value)
        case "cpu-throttle-initial": cpuThrottleInitial = byte(value)
        case "cpu-throttle-increment": cpuThrottleIncrement = byte(value)
        case "cpu-throttle-tailslow": cpuThrottleTailslow = value.bool ?? cpuThrottleTailslow
        case "max-cpu-throttle": maxCPUThrottle = byte(value)
        case "tls-creds": tlsCreds = value.string ?? tlsCreds
        case "tls-hostname": tlsHostname = value.string ?? tlsHostname
        case "tls-authz": tlsAuthz = value.string ?? tlsAuthz
        case "max-bandwidth": maxBandwidth = value.uint ?? maxBandwidth
        case "downtime-limit": downtimeLimit = value.uint ?? downtimeLimit
        case "x-checkpoint-delay": xCheckpointDelay = UInt32(clamping: value.uint ?? 0)
        case "block-incremental": blockIncremental = value.bool ?? blockIncremental
        case "multifd-channels": multifdChannels = byte(value)
        case "multifd-compression":
            multifdCompression = value.string.flatMap(MultiFDCompression.init(rawValue:)) ?? multifdCompression
        case "xbzrle-cache-size": xbzrleCacheSize = value.uint ?? xbzrleCacheSize
        case "max-postcopy-bandwidth": maxPostcopyBandwidth = value.uint ?? maxPostcopyBandwidth
        case "block-bitmap-mapping": blockBitmapMapping = value.list?.compactMap(BitmapNodeAlias.init(qmp:))
        default: break
        }
    }
}
