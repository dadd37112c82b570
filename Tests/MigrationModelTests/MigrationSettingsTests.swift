import MigrationModel
import QObject
import Testing

@Suite struct MigrationCapabilitiesTests {
    @Test func defaultsAndSet() throws {
        var caps = MigrationCapabilities()
        #expect(MigrationCapabilities.names.count == 21)
        #expect(MigrationCapabilities.names.allSatisfy { !caps[$0] })
        try caps.set(name: "xbzrle", on: true)
        #expect(caps["xbzrle"])
        #expect(MigrationCapabilities.names.filter { caps[$0] } == ["xbzrle"])
    }

    @Test func errors() throws {
        var caps = MigrationCapabilities()
        #expect(throws: MigrationSettingError("invalid parameter value: foo")) { try caps.set(name: "foo", on: true) }
        #expect(throws: MigrationSettingError("Postcopy preempt requires postcopy-ram")) {
            try caps.set(name: "postcopy-preempt", on: true)
        }
        #expect(throws: MigrationSettingError("Zero copy only available for non-compressed non-TLS multifd migration")) {
            try caps.set(name: "zero-copy-send", on: true)
        }
        try caps.set(name: "postcopy-ram", on: true)
        #expect(throws: MigrationSettingError("Background-snapshot is not compatible with postcopy-ram")) {
            try caps.set(name: "background-snapshot", on: true)
        }
        #expect(throws: MigrationSettingError("Postcopy is not compatible with ignore-shared")) {
            try caps.set(name: "x-ignore-shared", on: true)
        }
        #expect(!caps["x-ignore-shared"])
    }
}

@Suite struct MigrationParametersTests {
    @Test func valuesAsQEMUParsesThem() throws {
        var p = MigrationParameters()
        try p.set(name: "max-bandwidth", value: "100")
        #expect(p.maxBandwidth == 104_857_600)
        try p.set(name: "max-bandwidth", value: "1.5G")
        #expect(p.maxBandwidth == 1_610_612_736)
        try p.set(name: "max-bandwidth", value: "100k")
        #expect(p.maxBandwidth == 102_400)
        try p.set(name: "downtime-limit", value: "1.5k")
        #expect(p.downtimeLimit == 1536)
        try p.set(name: "announce-initial", value: "1k")
        #expect(p.announceInitial == 1024)
        try p.set(name: "compress-level", value: "0x5")
        #expect(p.compressLevel == 5)
        try p.set(name: "compress-wait-thread", value: "n")
        try p.set(name: "cpu-throttle-tailslow", value: "true")
        #expect(!p.compressWaitThread && p.cpuThrottleTailslow)
        try p.set(name: "tls-creds", value: "foo")
        #expect(p.tlsCreds == "foo")
        try p.set(name: "multifd-compression", value: "zstd")
        #expect(p.multifdCompression == .zstd)
        try p.set(name: "xbzrle-cache-size", value: "4096")
        try p.set(name: "max-postcopy-bandwidth", value: "1M")
        #expect(p.maxPostcopyBandwidth == 1_048_576)
        try p.set(name: "multifd-zstd-level", value: "30")  // accepted and ignored, as in QEMU 7.2's HMP
    }

    @Test func errorTexts() {
        var p = MigrationParameters()
        let sizeHint = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively."
        let cases: [(String, String, MigrationSettingError)] = [
            ("max-bandwidth", "abc", .init("Invalid size abc")),
            ("max-bandwidth", "8E", .init("Invalid size 8E")),
            ("downtime-limit", "-1", .init("Parameter 'downtime-limit' expects a non-negative number below 2^64", hint: sizeHint)),
            ("downtime-limit", "2000001", .init("Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms")),
            ("compress-level", "10", .init("Parameter 'compress_level' expects a value between 0 and 9")),
            ("compress-level", "-1", .init("Parameter 'compress-level' expects uint8_t")),
            ("compress-level", "x", .init("Parameter 'compress-level' expects uint64")),
            ("compress-level", "1k", .init("Parameter 'compress-level' expects uint64")),
            ("compress-threads", "0", .init("Parameter 'compress_threads' expects a value between 1 and 255")),
            ("throttle-trigger-threshold", "101", .init("Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100")),
            ("cpu-throttle-initial", "100", .init("Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99")),
            ("max-cpu-throttle", "10", .init("Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99")),
            ("block-incremental", "maybe", .init("Parameter 'block-incremental' expects 'on' or 'off'")),
            ("block-incremental", "ON", .init("Parameter 'block-incremental' expects 'on' or 'off'")),
            ("x-checkpoint-delay", "5000000000", .init("Parameter 'x-checkpoint-delay' expects uint32_t")),
            ("multifd-channels", "0", .init("Parameter 'multifd_channels' expects a value between 1 and 255")),
            ("multifd-compression", "foo", .init("Parameter 'multifd-compression' does not accept value 'foo'")),
            ("xbzrle-cache-size", "1000", .init("Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size")),
            ("announce-step", "0", .init("Parameter 'announce_step' expects a value between 0 and 10000")),
            ("announce-rounds", "100000000", .init("Parameter 'announce_rounds' expects a value between 0 and 1000")),
            ("block-bitmap-mapping", "x", .init("The block-bitmap-mapping parameter can only be set through QMP")),
            ("foo", "1", .init("invalid parameter value: foo")),
        ]
        for (name, value, error) in cases {
            #expect(throws: error, "\(name) \(value)") { try p.set(name: name, value: value) }
        }
        #expect(p == MigrationParameters())
        #expect(MigrationSettingError("a", hint: "b").description == "a\nb")
    }

    /// migrate_params_check names the first failure in its own order, not the schema's: with every member out of
    /// range at once, each is reported in turn as the ones before it are dropped.
    @Test func rangeErrorsInQEMUsOrder() {
        let bad: [(String, QValue, String)] = [
            ("compress-level", .int(10), "compress_level"), ("compress-threads", .int(0), "compress_threads"),
            ("decompress-threads", .int(0), "decompress_threads"),
            ("throttle-trigger-threshold", .int(0), "throttle_trigger_threshold"),
            ("cpu-throttle-initial", .int(100), "cpu_throttle_initial"),
            ("cpu-throttle-increment", .int(0), "cpu_throttle_increment"),
            ("downtime-limit", .int(2_000_001), "downtime_limit"), ("multifd-channels", .int(0), "multifd_channels"),
            ("xbzrle-cache-size", .int(1000), "xbzrle_cache_size"), ("max-cpu-throttle", .int(100), "max_cpu_throttle"),
            ("announce-initial", .int(100_001), "announce_initial"), ("announce-max", .int(100_001), "announce_max"),
            ("announce-rounds", .int(1001), "announce_rounds"), ("announce-step", .int(0), "announce_step"),
        ]
        var p = MigrationParameters()
        for i in bad.indices {
            let request = QDict(bad[i...].map { ($0.0, $0.1) })
            #expect {
                try p.set(qmp: request) { _ in [] }
            } throws: { error in
                (error as? MigrationSettingError)?.message.hasPrefix("Parameter '\(bad[i].2)' expects ") == true
            }
        }
        #expect(p == MigrationParameters())
    }

    @Test func oldSpellingsAndCompletion() throws {
        var p = MigrationParameters()
        p.setSpeed(bytes: 10 << 20)
        #expect(p.maxBandwidth == 10 << 20)
        try p.setDowntime(seconds: 0.5)
        #expect(p.downtimeLimit == 500)
        #expect(throws: MigrationSettingError.self) { try p.setDowntime(seconds: -1) }
        #expect(MigrationParameters.names.contains("max-bandwidth"))
        #expect(MigrationParameters.completionValues(for: "block-incremental") == ["on", "off"])
        #expect(MigrationParameters.completionValues(for: "multifd-compression") == ["none", "zlib", "zstd"])
        #expect(MigrationParameters.completionValues(for: "max-bandwidth") == [])
    }
}
