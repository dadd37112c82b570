/// Two paused QEMU `pc` machines (7.2 unless told) for a `-b` migration: a source whose disk holds random bytes and a destination,
/// listening on a free loopback port, whose disk of the same size is empty.
public struct QEMUBlockMigrationPair {
    public let source: QEMUProcess
    public let destination: QEMUProcess
    public let sourceDisk: String
    public let destinationDisk: String
    public let port: Int

    /// `tag` tells apart the files of several pairs in one directory.
    public init(scratch: TempDir, diskSize: Int, tag: String = "", version: QEMUVersion = .v7_2) throws {
        sourceDisk = scratch.file("src\(tag).raw")
        destinationDisk = scratch.file("dst\(tag).raw")
        try randomFile(sourceDisk, size: diskSize)
        sparseFile(destinationDisk, size: diskSize)
        port = freePort()
        destination = try QEMUProcess(
            scratch: scratch, name: "dst\(tag)", version: version, disk: destinationDisk, incomingPort: port)
        source = try QEMUProcess(scratch: scratch, name: "src\(tag)", version: version, disk: sourceDisk)
    }

    public func kill() {
        source.kill()
        destination.kill()
    }
}
