extension MigrationParameter {
    /// THE migration parameters, in the order of QEMU's MigrateSetParameters (qapi/migration.json): the order
    /// migrate-set-parameters reads a request's members in, so of two bad members the first here is the one named.
    /// Adding a parameter is adding a row (and, if hmp's machine keeps it, its member of MigrationParameters).
    /// Checked against QEMU 7.2 and 10.0.2: the compression threads and block-incremental went in 9.1.
    public static let table: [MigrationParameter] = [
        MigrationParameter(
            "announce-initial", .size(\.announceInitial), 50, infoLine: 0, unit: " ms",
            range: .within(10, 0...100_000, "a value between 0 and 100000")),
        MigrationParameter(
            "announce-max", .size(\.announceMax), 550, infoLine: 1, unit: " ms",
            range: .within(11, 0...100_000, "a value between 0 and 100000")),
        MigrationParameter(
            "announce-rounds", .size(\.announceRounds), 5, infoLine: 2,
            range: .within(12, 0...1000, "a value between 0 and 1000")),
        MigrationParameter(
            "announce-step", .size(\.announceStep), 100, infoLine: 3, unit: " ms",
            range: .within(13, 1...10000, "a value between 0 and 10000")),
        MigrationParameter(
            "compress-level", .uint8(\.compressLevel), 1, removedIn: 901, infoLine: 4,
            range: .within(0, 0...9, "a value between 0 and 9")),
        MigrationParameter(
            "compress-threads", .uint8(\.compressThreads), 8, removedIn: 901, infoLine: 5,
            range: .within(1, 1...255, "a value between 1 and 255")),
        MigrationParameter("compress-wait-thread", .bool(\.compressWaitThread), true, removedIn: 901, infoLine: 6),
        MigrationParameter(
            "decompress-threads", .uint8(\.decompressThreads), 2, removedIn: 901, infoLine: 7,
            range: .within(2, 1...255, "a value between 1 and 255")),
        MigrationParameter(
            "throttle-trigger-threshold", .uint8(\.throttleTriggerThreshold), 50, infoLine: 8,
            range: .within(3, 1...100, "an integer in the range of 1 to 100")),
        MigrationParameter(
            "cpu-throttle-initial", .uint8(\.cpuThrottleInitial), 20, infoLine: 9,
            range: .within(4, 1...99, "an integer in the range of 1 to 99")),
        MigrationParameter(
            "cpu-throttle-increment", .uint8(\.cpuThrottleIncrement), 10, infoLine: 10,
            range: .within(5, 1...99, "an integer in the range of 1 to 99")),
        MigrationParameter("cpu-throttle-tailslow", .bool(\.cpuThrottleTailslow), false, infoLine: 11),
        MigrationParameter("tls-creds", .text(\.tlsCreds), "", infoLine: 13),
        MigrationParameter("tls-hostname", .text(\.tlsHostname), "", infoLine: 14),
        MigrationParameter("tls-authz", .text(\.tlsAuthz), "", infoLine: 23),
        MigrationParameter(
            "max-bandwidth", .bandwidth(\.maxBandwidth), 134_217_728, infoLine: 15, unit: " bytes/second"),
        MigrationParameter(
            "downtime-limit", .size(\.downtimeLimit), 300, infoLine: 16, unit: " ms",
            range: .within(6, 0...2_000_000, "an integer in the range of 0 to (2000 * 1000) ms")),
        MigrationParameter("x-checkpoint-delay", .uint32(\.xCheckpointDelay), 20000, infoLine: 17, unit: " ms"),
        MigrationParameter("block-incremental", .bool(\.blockIncremental), false, removedIn: 901, infoLine: 18),
        MigrationParameter(
            "multifd-channels", .uint8(\.multifdChannels), 2, infoLine: 19,
            range: .within(7, 1...255, "a value between 1 and 255")),
        MigrationParameter(
            "xbzrle-cache-size", .size(\.xbzrleCacheSize), 67_108_864, infoLine: 21, unit: " bytes",
            range: .init(order: 8, expects: "a power of two no less than the target page size") { n, _ in
                n >= 4096 && n.nonzeroBitCount == 1
            }),
        MigrationParameter("max-postcopy-bandwidth", .size(\.maxPostcopyBandwidth), 0, infoLine: 22),
        MigrationParameter(
            "max-cpu-throttle", .uint8(\.maxCPUThrottle), 99, infoLine: 12,
            range: .init(order: 9, expects: "an integer in the range of cpu_throttle_initial to 99") { n, p in
                n >= p.cpuThrottleInitial && n <= 99
            }),
        MigrationParameter("multifd-compression", .compression, "none", infoLine: 20),
        MigrationParameter("multifd-zlib-level", .unkept, 1, infoLine: nil),
        MigrationParameter("multifd-zstd-level", .unkept, 1, infoLine: nil),
        MigrationParameter("block-bitmap-mapping", .bitmapMapping, nil, infoLine: nil),
    ]
}
