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
