import Foundation
public import Testing

/// The QEMUs hmp is tested against: the system's 7.2, and 10.0.2 from Debian's bookworm-backports, unpacked
/// under the checkout's `.build/qemu-10.0.2` by `scripts/install-deps test` (never installed over 7.2). A missing
/// QEMU is a loud failure, never a skipped test.
public enum QEMUVersion: String, CaseIterable, Sendable, CustomStringConvertible, CustomTestStringConvertible {
    case v7_2 = "7.2"
    case v10_0 = "10.0"

    public var description: String { "QEMU \(rawValue)" }
    public var testDescription: String { description }

    /// The checkout: this file is Tests/TestSupport/QEMUVersion.swift.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The unpacked 10.0.2.
    static let unpacked = packageRoot + "/.build/qemu-10.0.2"

    public var binary: String {
        switch self {
        case .v7_2: "/usr/bin/qemu-system-x86_64"
        case .v10_0: Self.unpacked + "/usr/bin/qemu-system-x86_64"
        }
    }

    /// What the binary needs besides a test's own arguments: an unpacked QEMU finds its firmware only where it is
    /// told (its compiled-in paths hold the system 7.2's).
    public var firmwareArguments: [String] {
        switch self {
        case .v7_2: []
        case .v10_0: ["-L", Self.unpacked + "/usr/share/qemu"]
        }
    }

    /// This process's environment, plus where an unpacked QEMU's modules are.
    public var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if self == .v10_0 {
            environment["QEMU_MODULE_DIR"] = Self.unpacked + "/usr/lib/x86_64-linux-gnu/qemu"
        }
        return environment
    }

    public var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// Why a test cannot run this QEMU, as the failure says it.
    public var missing: String { "\(self) is not installed (no \(binary)): run scripts/install-deps test" }

    /// Fails loudly when this QEMU is missing.
    public func requireInstalled() throws(Missing) {
        guard isInstalled else { throw Missing(description: missing) }
    }

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }
}
