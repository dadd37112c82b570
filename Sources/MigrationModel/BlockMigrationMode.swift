/// What `migrate -b` / `-i` ask of the disks.
public enum BlockMigrationMode: Sendable, Equatable {
    /// Shared storage: disks are not sent.
    case none
    /// `-b`: every chunk of every writable drive.
    case full
    /// `-i`: only the allocated extents of sparse images; the holes are the base both sides share.
    case incremental
}
