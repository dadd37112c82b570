import MigrationModel
import QObject
import Testing

/// The parameter and capability tables against what QEMU itself answers, recorded from QEMU 7.2
/// (/usr/bin/qemu-system-x86_64) and 10.0.2 with `-machine none`.
@Suite struct MigrationTablesTests {
    static let qemu72Parameters = #"{"cpu-throttle-tailslow": false, "xbzrle-cache-size": 67108864, "cpu-throttle-initial": 20, "announce-max": 550, "decompress-threads": 2, "compress-threads": 8, "compress-level": 1, "multifd-channels": 2, "multifd-zstd-level": 1, "announce-initial": 50, "block-incremental": false, "compress-wait-thread": true, "downtime-limit": 300, "tls-authz": "", "multifd-compression": "none", "announce-rounds": 5, "announce-step": 100, "tls-creds": "", "multifd-zlib-level": 1, "max-cpu-throttle": 99, "max-postcopy-bandwidth": 0, "tls-hostname": "", "throttle-trigger-threshold": 50, "max-bandwidth": 134217728, "x-checkpoint-delay": 20000, "cpu-throttle-increment": 10}"#
    static let qemu10Parameters = [
        "cpu-throttle-tailslow", "xbzrle-cache-size", "cpu-throttle-initial", "announce-max", "direct-io",
        "avail-switchover-bandwidth", "zero-page-detection", "multifd-qatzip-level", "multifd-channels", "mode",
        "multifd-zstd-level", "announce-initial", "downtime-limit", "tls-authz", "vcpu-dirty-limit",
        "multifd-compression", "announce-rounds", "announce-step", "tls-creds", "x-vcpu-dirty-limit-period",
        "multifd-zlib-level", "max-cpu-throttle", "max-postcopy-bandwidth", "tls-hostname",
        "throttle-trigger-threshold", "max-bandwidth", "x-checkpoint-delay", "cpu-throttle-increment",
    ]
    static let qemu72Capabilities = [
        "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress", "events", "postcopy-ram", "x-colo",
        "release-ram", "block", "return-path", "pause-before-switchover", "multifd", "dirty-bitmaps",
        "postcopy-blocktime", "late-block-activate", "x-ignore-shared", "validate-uuid", "background-snapshot",
        "zero-copy-send", "postcopy-preempt",
    ]
    static let qemu10Capabilities = [
        "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "events", "postcopy-ram", "x-colo", "release-ram",
        "return-path", "pause-before-switchover", "multifd", "dirty-bitmaps", "postcopy-blocktime",
        "late-block-activate", "x-ignore-shared", "validate-uuid", "background-snapshot", "zero-copy-send",
        "postcopy-preempt", "switchover-ack", "dirty-limit", "mapped-ram",
    ]

    /// Every row is in QEMU 7.2's reply or marked as not in 7.2, and the defaults are 7.2's, byte for byte in its
    /// order (block-bitmap-mapping, never set, is absent from both).
    @Test func parameterRowsAreQEMU72s() throws {
        let reply = try #require(try QValue(json: Self.qemu72Parameters).dict)
        for row in MigrationParameter.table where row.name != "block-bitmap-mapping" {
            #expect(reply.contains(row.name) == row.releases.inQEMU72, "\(row.name)")
            #expect(reply[row.name]?.json == row.defaultValue?.json, "\(row.name)")
        }
        #expect(QValue.dict(MigrationParameters().queryParametersReply).json == Self.qemu72Parameters)
        #expect(MigrationParameters(queryParameters: reply) == MigrationParameters())
    }

    /// The rows marked as in 10.0 are in QEMU 10.0.2's reply; what 10.0 added and hmp has no row for passes
    /// through to QEMU's own monitor.
    @Test func parameterRowsInQEMU10() {
        for row in MigrationParameter.table where row.name != "block-bitmap-mapping" {
            #expect(Self.qemu10Parameters.contains(row.name) == row.releases.contains(major: 10, minor: 0), "\(row.name)")
        }
    }

    @Test func capabilityRowsAreQEMUs() {
        #expect(MigrationCapabilities.names == Self.qemu72Capabilities)
        #expect(MigrationCapability.table.filter { $0.releases.contains(major: 10, minor: 0) }.map(\.name) == Self.qemu10Capabilities)
        #expect(MigrationCapabilities.implemented == ["auto-converge", "block", "events"])
    }
}
