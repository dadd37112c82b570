/// Which QEMU releases have a migration parameter or capability, each as major * 100 + minor (7.2 is 702): from
/// `since` up to, not including, `removedIn`. hmp speaks to 7.2 and later, so what 7.2 had is since 702.
public struct QEMUReleases: Sendable, Equatable {
    public var since = 702
    public var removedIn: Int?

    public func contains(major: Int, minor: Int) -> Bool {
        let version = major * 100 + minor
        return version >= since && version < removedIn ?? Int.max
    }

    /// What hmp's own machine and QMP server have: QEMU 7.2's set.
    public var inQEMU72: Bool { contains(major: 7, minor: 2) }
}
