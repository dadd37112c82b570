import QObject
import Testing

/// The JSON writers against bytes QEMU 7.2 sent for the same values (captured from `-qmp` and `-qmp-pretty`
/// echoing an `id`, with the monitor's `\r\n` turned back into qjson's `\n`).
struct QValueJSONAsQEMUTests {
    /// `{"a": [1, 2.5, [], {}, "é\u0001😀", null, true, {"b": [[]]}], "c": 1.0, ...}`, members in the order
    /// QEMU's hash table gave them back.
    static let echoed: QValue = [
        "d": .double(-0.0), "e": .double(1e300),
        "a": [1, 2.5, [], .dict(QDict()), "é\u{01}😀", nil, true, ["b": [[]]]],
        "f": .uint(UInt64.max), "g": -5, "c": .double(1),
    ]

    @Test func compactAsQMP() {
        #expect(Self.echoed.json == #"{"d": -0, "e": 1.0000000000000001e+300, "a": [1, 2.5, [], {}, "\u00E9\u0001\uD83D\uDE00", null, true, {"b": [[]]}], "f": 18446744073709551615, "g": -5, "c": 1}"#)
        #expect(QValue.string("\u{7F}/\"\\\u{08}\u{0C}\n\r\t").json == #""\u007F/\"\\\b\f\n\r\t""#)
    }

    @Test func prettyAsQMPPretty() {
        let reply: QValue = ["return": .dict(QDict()), "id": Self.echoed]
        #expect(reply.prettyJSON == """
            {
                "return": {
                },
                "id": {
                    "d": -0,
                    "e": 1.0000000000000001e+300,
                    "a": [
                        1,
                        2.5,
                        [
                        ],
                        {
                        },
                        "\\u00E9\\u0001\\uD83D\\uDE00",
                        null,
                        true,
                        {
                            "b": [
                                [
                                ]
                            ]
                        }
                    ],
                    "f": 18446744073709551615,
                    "g": -5,
                    "c": 1
                }
            }
            """)
    }

    @Test func prettyGreetingAndEvent() {
        let greeting: QValue = [
            "QMP": [
                "version": ["qemu": ["micro": 22, "minor": 2, "major": 7], "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"],
                "capabilities": ["oob"],
            ],
        ]
        #expect(greeting.prettyJSON == """
            {
                "QMP": {
                    "version": {
                        "qemu": {
                            "micro": 22,
                            "minor": 2,
                            "major": 7
                        },
                        "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"
                    },
                    "capabilities": [
                        "oob"
                    ]
                }
            }
            """)
        let event: QValue = [
            "timestamp": ["seconds": 1796170614, "microseconds": 649670], "event": "SHUTDOWN",
            "data": ["guest": false, "reason": "host-qmp-quit"],
        ]
        #expect(event.prettyJSON == """
            {
                "timestamp": {
                    "seconds": 1796170614,
                    "microseconds": 649670
                },
                "event": "SHUTDOWN",
                "data": {
                    "guest": false,
                    "reason": "host-qmp-quit"
                }
            }
            """)
    }

    @Test func prettyScalarsAndEmpties() {
        #expect(QValue.string("VM status: running\r\n").prettyJSON == #""VM status: running\r\n""#)
        #expect(QValue.list([]).prettyJSON == "[\n]")
        #expect(QValue.dict(QDict()).prettyJSON == "{\n}")
        #expect(QValue.double(1.5).prettyJSON == "1.5")
    }
}

/// QEMU's QDict order, against what QEMU 7.2 sent.
struct QValueQEMUOrderTests {
    @Test func echoedIDComesBackInQEMUsOrder() throws {
        let sent = try QValue(json: #"{"a": [1, 2.5, [], {}, "é\u0001😀", null, true, {"b": [[]]}], "c": 1.0, "d": -0.0, "e": 1e300, "f": 18446744073709551615, "g": -5}"#)
        #expect(sent.inQEMUOrder == QValueJSONAsQEMUTests.echoed)
        #expect(sent.inQEMUOrder.json == QValueJSONAsQEMUTests.echoed.json)
    }

    @Test func schemaOrderBecomesReplyOrder() {
        let version: QValue = ["major": 7, "minor": 2, "micro": 22]
        #expect(version.inQEMUOrder.dict?.keys == ["micro", "minor", "major"])
        // MigrationParameters' members in schema order come out as query-migrate-parameters lists them.
        let schema = [
            "announce-initial", "announce-max", "announce-rounds", "announce-step", "compress-level", "compress-threads",
            "compress-wait-thread", "decompress-threads", "throttle-trigger-threshold", "cpu-throttle-initial",
            "cpu-throttle-increment", "cpu-throttle-tailslow", "tls-creds", "tls-hostname", "tls-authz",
            "max-bandwidth", "downtime-limit", "x-checkpoint-delay", "block-incremental", "multifd-channels",
            "xbzrle-cache-size", "max-postcopy-bandwidth", "max-cpu-throttle", "multifd-compression",
            "multifd-zlib-level", "multifd-zstd-level",
        ]
        let parameters = QDict(schema.map { ($0, QValue.int(0)) })
        #expect(parameters.inQEMUOrder.keys == [
            "cpu-throttle-tailslow", "xbzrle-cache-size", "cpu-throttle-initial", "announce-max", "decompress-threads",
            "compress-threads", "compress-level", "multifd-channels", "multifd-zstd-level", "announce-initial",
            "block-incremental", "compress-wait-thread", "downtime-limit", "tls-authz", "multifd-compression",
            "announce-rounds", "announce-step", "tls-creds", "multifd-zlib-level", "max-cpu-throttle",
            "max-postcopy-bandwidth", "tls-hostname", "throttle-trigger-threshold", "max-bandwidth",
            "x-checkpoint-delay", "cpu-throttle-increment",
        ])
    }
}
