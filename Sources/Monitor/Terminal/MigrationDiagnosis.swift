import Migration

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
    /// max-bandwidth (so raising it helps), otherwise the link is what holds it back.
    case notConverging(dirtyRate: Double, limitReached: Bool)

    /// A destination this long without reading is said to be stalled; a shorter pause is a busy peer.
    static let stallSeconds = 3
    /// A dirty rate within 5 % of the send rate counts as equal: both are measured, and a guest that keeps the
    /// pending set this full makes no headway pass after pass.
    static let convergenceMargin = 0.95
    /// A send rate this close to max-bandwidth has reached it.
    static let limitMargin = 0.9
    /// Below this, one 1 MiB disk chunk alone takes seconds: a limit, not a fault.
    static let tinyLimit: UInt64 = 1 << 20

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
        // The dirty rate is known once a sync period has closed, which takes at least one pass.
        let dirtyRate = Double(info.ram.dirtyPagesRate) * Double(info.ram.pageSize)
        if info.pass > 0, dirtyRate > 0, sendRate > 0, dirtyRate >= sendRate * MigrationDiagnosis.convergenceMargin {
            let limit = Double(info.rateLimit ?? 0)
            self = .notConverging(
                dirtyRate: dirtyRate, limitReached: limit > 0 && sendRate >= limit * MigrationDiagnosis.limitMargin)
            return
        }
        let left = Double(MigrationStatusText.left(info))
        let gain = sendRate - (info.pass > 0 ? dirtyRate : 0)
        self = .converging(seconds: gain > 0 ? left / gain : nil)
    }
}
