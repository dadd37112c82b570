import MigrationModel

/// Whether a running migration is getting anywhere and, when it is not, the likely cause from what hmp can see:
/// a destination that stopped reading (the channel's queue stays full), a max-bandwidth too low to move anything,
/// or a guest that dirties memory as fast as it is sent, held back by max-bandwidth or by the link itself. Pure:
/// the status line words it.
enum MigrationDiagnosis: Equatable {
    /// Converging: `seconds` is the estimate, remaining / (send rate − dirty rate); nil before any rate is known.
    case converging(seconds: Double?)
    /// Nothing sent for `seconds`, and the channel's queue is full: the destination is not taking the stream.
    case destinationNotReading(seconds: Int)
    /// Nothing sent for `seconds` under a limit so low that one chunk takes that long.
    case bandwidthTooLow(seconds: Int, limit: UInt64)
    /// Nothing sent for `seconds`, for no reason hmp can see.
    case stalled(seconds: Int)
    /// The guest dirties at least as fast as the migration sends; `limitReached` says the send rate is at
    /// max-bandwidth (so raising it helps), or, when false, that the link is what holds it back; nil when the
    /// limit is not known (a migration seen through QMP).
    case notConverging(dirtyRate: Double, limitReached: Bool?)

    /// A destination this long without reading is said to be stalled; a shorter pause is a busy peer.
    static let stallSeconds = 3
    /// A guest that dirties 80 % of what is sent counts as dirtying as fast as it is sent: the bitmap counts a
    /// page written twice between syncs once, so over whole periods the share reads low, and in practice such a
    /// guest keeps the pending set full pass after pass.
    static let convergenceMargin = 0.8
    /// A send rate this close to max-bandwidth has reached it.
    static let limitMargin = 0.9
    /// Below this, one 1 MiB disk chunk alone takes seconds: a limit, not a fault.
    static let tinyLimit: UInt64 = 1 << 20

    /// How fast the guest dirties RAM, in bytes per second, and what share of the bytes sent that is. Known once a
    /// sync period has closed, which takes at least one pass. hmp's engine reports recent periods' dirty and sent
    /// bytes, measured over the same time; another QEMU only the two rates.
    static func headway(_ info: MigrationInfo) -> (dirtyRate: Double, share: Double) {
        if let period = info.recentPeriods, period.milliseconds > 0, period.sentBytes > 0 {
            return (Double(period.dirtyBytes) * 1000 / Double(period.milliseconds),
                    Double(period.dirtyBytes) / Double(period.sentBytes))
        }
        let dirtyRate = Double(info.ram.dirtyPagesRate) * Double(info.ram.pageSize)
        let sendRate = MigrationStatusText.bytesPerSecond(info)
        return (dirtyRate, sendRate > 0 ? dirtyRate / sendRate : 0)
    }

    /// `stalledSeconds`: how long nothing has been sent, as the status view counts it.
    init(_ info: MigrationInfo, stalledSeconds: Int) {
        let sendRate = MigrationStatusText.bytesPerSecond(info)
        if stalledSeconds >= MigrationDiagnosis.stallSeconds, info.status == .active {
            if info.sendQueue?.isFull == true {
                self = .destinationNotReading(seconds: stalledSeconds)
            } else if let limit = info.rateLimit, limit > 0, limit < MigrationDiagnosis.tinyLimit {
                self = .bandwidthTooLow(seconds: stalledSeconds, limit: limit)
            } else {
                self = .stalled(seconds: stalledSeconds)
            }
            return
        }
        let (dirtyRate, share) = MigrationDiagnosis.headway(info)
        if info.pass > 0, dirtyRate > 0, sendRate > 0, share >= MigrationDiagnosis.convergenceMargin {
            let reached = info.rateLimit.map { $0 > 0 && sendRate >= Double($0) * MigrationDiagnosis.limitMargin }
            self = .notConverging(dirtyRate: dirtyRate, limitReached: reached)
            return
        }
        // Each byte sent gains (1 − share) of a byte on what is left.
        let gain = sendRate * (1 - (info.pass > 0 ? share : 0))
        self = .converging(seconds: gain > 0 ? Double(MigrationStatusText.wireBytesLeft(info)) / gain : nil)
    }
}
