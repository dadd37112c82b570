// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "hmp",
    products: [
        .executable(name: "hmp", targets: ["hmp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // Top: the executable turns QEMU-style options into a MachineConfiguration and monitor endpoints and runs
        // the monitors. Its folder is not Sources/hmp, which would differ from Sources/HMP only in case.
        .executableTarget(
            name: "hmp",
            dependencies: [
                "Monitor", "Machine", "Platform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Executable",
            swiftSettings: strict
        ),
        // The monitors (terminal, pipes, sockets, the QMP server), the command table and its handlers, and the
        // backends behind them: the built-in machine, or a QEMU reached over QMP.
        .target(
            name: "Monitor",
            dependencies: [
                "HMP", "Machine", "Migration", "MigrationModel", "QObject", "QMP", "Platform", "CEditLine", "CCurses",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        // Live migration: the engine, QEMU 7.2's stream format and the transports.
        .target(name: "Migration", dependencies: ["Machine", "MigrationModel", "QObject", "Platform", "CLinux"], swiftSettings: strict),
        // The built-in machine: guest RAM, drives, the workload, and the run state they follow.
        .target(name: "Machine", dependencies: ["MigrationModel", "QObject", "Platform"], swiftSettings: strict),
        // The values that cross the monitor's seam to a backend (run state, migration status and progress, parameters
        // and capabilities as rows of one table each, drives) and their QMP shape. Imports neither engine.
        .target(name: "MigrationModel", dependencies: ["QObject", "Platform"], swiftSettings: strict),
        // QEMU Machine Protocol: JSON framing, messages, addresses and QMPClient. Imports no terminal code.
        .target(name: "QMP", dependencies: ["QObject", "Platform"], swiftSettings: strict),
        // QEMU's args_type grammar, the command table type, the line parser, completion and help. Pure.
        .target(name: "HMP", dependencies: ["QObject"], swiftSettings: strict),
        // QDict and friends (typed values shared by HMP and QMP) and QEMU's readers of numbers, sizes, booleans and
        // option lists. Pure.
        .target(name: "QObject", swiftSettings: strict),
        // The bottom layer: system calls (interruptions retried, errno typed, descriptors close-on-exec), the clock,
        // threads and workers, signals, the wake-up pipe, socket addresses and listeners. Every module above uses it
        // rather than calling the C library itself.
        .target(
            name: "Platform",
            dependencies: ["CLinux", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        .systemLibrary(name: "CEditLine", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CCurses", providers: [.apt(["libncurses-dev"])]),
        // Linux calls Glibc's Swift module leaves out (splice, pipe2, accept4): header-only wrappers, nothing to link.
        .systemLibrary(name: "CLinux"),

        // What the test targets share: temp dirs, hmp and QEMU 7.2/10 processes, tmux, HMP and QMP socket clients,
        // the fake QMP peer. A plain target under Tests, built only for the tests.
        .target(name: "TestSupport", dependencies: ["Platform"], path: "Tests/TestSupport", swiftSettings: strict),

        .testTarget(name: "QObjectTests", dependencies: ["QObject", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HMPTests", dependencies: ["HMP", "QObject", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MigrationModelTests", dependencies: ["MigrationModel", "QObject"], swiftSettings: strict),
        .testTarget(
            name: "MigrationTests", dependencies: ["Migration", "MigrationModel", "Machine", "Platform", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "MachineTests", dependencies: ["Machine", "Migration", "MigrationModel", "Platform", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "TransportTests", dependencies: ["Migration", "Platform", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "QMPTests", dependencies: ["QMP", "QObject", "Platform", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"], swiftSettings: strict),
        // The monitor's own pieces: HMPFormat's texts, the dispatcher (over LocalBackend and FakeBackend), the
        // status line and history.
        .testTarget(
            name: "MonitorTests",
            dependencies: ["Monitor", "Machine", "Migration", "MigrationModel", "QMP", "QObject", "Platform", "TestSupport"],
            swiftSettings: strict),
        // Runs the built binary: piped stdin, the monitor and QMP sockets, a real terminal under tmux, and against the
        // real QEMU 7.2 and 10.0.2.
        .testTarget(name: "EndToEndTests", dependencies: ["hmp", "TestSupport"], swiftSettings: strict),
    ]
)
