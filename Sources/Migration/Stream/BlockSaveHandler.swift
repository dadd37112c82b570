import Glibc
public import MigrationModel
import Platform
public import Machine

/// The `block` section, version 1 (`migrate -b` / `-i`): the seed's block_save_* and block_load. Every 1 MiB chunk of
/// every writable drive once (the bulk phase, skipping holes with `-i`), then chunks the guest dirtied, whole.
/// Records are sent in submission order (QEMU's follow async completion order; the destination does not care).
public final class BlockSaveHandler: SaveVMHandler {
    enum Flag {
        static let deviceBlock: UInt64 = 0x01
        static let eos: UInt64 = 0x02
        static let progress: UInt64 = 0x04
        static let zeroBlock: UInt64 = 0x08
    }
    static let sectorShift = 9
    static let sectorsPerChunk = UInt64(Drive.chunkSize >> sectorShift)

    public let idstr = "block"
    public let versionID: UInt32 = 1
    public var isIterative: Bool { true }

    private let drives: [Drive]
    /// The writable drives, the ones sent.
    private let sendingDrives: [Drive]
    private let mode: BlockMigrationMode
    private let statistics: MigrationStreamStatistics
    private let totalSectors: UInt64
    /// Bulk phase position: drive index and chunk index within it.
    private var bulkDrive = 0
    private var bulkChunk = 0
    private var bulkBytesLeft: UInt64
    private var chunk: UnsafeMutableRawBufferPointer?
    /// Outgoing: per sending drive, the dirty chunks taken from its bitmap and not sent yet.
    private let queues: [ChunkQueue]
    /// Outgoing: each sending drive's file size when last looked at, to notice a file that shrinks under us.
    private var fileSizes: [UInt64] = []
    /// Incoming: the `Receiving block device images` banner went out.
    private var bannerPrinted = false
    /// Incoming: the thread writing received chunks into the drives' files.
    private var writer: DriveWriter?
    private var writerUnavailable = false

    /// Outgoing: `drives` are all the machine's drives; read-only ones are not sent. Incoming: `mode` is unused.
    public init(drives: [Drive], mode: BlockMigrationMode, statistics: MigrationStreamStatistics) {
        self.drives = drives
        sendingDrives = drives.filter { !$0.readOnly }
        self.mode = mode
        self.statistics = statistics
        let sending = drives.filter { !$0.readOnly }
        totalSectors = sending.reduce(0) { $0 + ($1.size + 511) >> 9 }
        bulkBytesLeft = sending.reduce(0) { $0 + $1.size }
        queues = sending.map { ChunkQueue(wordCount: $0.dirty.wordCount) }
    }

    deinit {
        chunk?.deallocate()
    }


    /// The 1 MiB staging buffer, allocated once on first use.
    private var chunkBuffer: UnsafeMutableRawBufferPointer {
        if let chunk { return chunk }
        let made = UnsafeMutableRawBufferPointer.allocate(byteCount: Drive.chunkSize, alignment: 4096)
        chunk = made
        return made
    }

    /// O(1), from running counts: the bulk bytes left, the dirty chunks taken from the bitmaps and not sent yet,
    /// and those dirty in the bitmaps now (a chunk written again after it was taken counts twice until sent).
    public var pendingBytes: UInt64 {
        var dirty = 0
        for (drive, queue) in zip(sendingDrives, queues) { dirty += queue.count + drive.dirty.dirtyCount }
        return bulkBytesLeft + UInt64(dirty) * UInt64(Drive.chunkSize)
    }

    /// Takes every drive's dirty bits into its queue: one load per clean bitmap word.
    public func syncDirty() {
        for (drive, queue) in zip(sendingDrives, queues) { queue.take(drive.dirty) }
    }

    public var bulkCompleted: Bool { bulkDrive >= sendingDrives.count }

    public func setup(_ f: QEMUFileWriter) throws(MigrationError) {
        // Dirty tracking starts now: the bulk phase reads everything written before.
        for drive in drives { drive.dirty.clearAll() }
        for queue in queues { queue.clear() }
        fileSizes = sendingDrives.map { fileSize($0) ?? $0.size }
        bulkDrive = 0
        bulkChunk = 0
        statistics.diskTotal.store(sendingDrives.reduce(0) { $0 + $1.size }, ordering: .relaxed)
        statistics.diskRemaining.store(pendingBytes, ordering: .relaxed)
        let before = f.bytesWritten
        try f.put64(Flag.eos)
        statistics.diskTransferred.wrappingAdd(f.bytesWritten - before, ordering: .relaxed)
    }

    public func iterate(_ f: QEMUFileWriter, budget: Int) throws(MigrationError) -> Bool {
        noticeShrunkenFiles()
        let before = f.bytesWritten
        let limit = UInt64(max(budget, 0))
        while f.bytesWritten - before < limit {
            if try sendBulkChunk(f) { continue }
            if try sendDirtyChunk(f) { continue }
            break
        }
        try f.put64(Flag.eos)
        finishAccounting(f, before)
        return bulkCompleted && pendingBytes == 0
    }

    public func complete(_ f: QEMUFileWriter) throws(MigrationError) {
        noticeShrunkenFiles()
        let before = f.bytesWritten
        while try sendBulkChunk(f) {}
        while try sendDirtyChunk(f) {}
        try f.put64(100 << 9 | Flag.progress)
        statistics.blockProgress.store(100, ordering: .relaxed)
        try f.put64(Flag.eos)
        finishAccounting(f, before)
    }

    private func finishAccounting(_ f: QEMUFileWriter, _ before: UInt64) {
        statistics.diskTransferred.wrappingAdd(f.bytesWritten - before, ordering: .relaxed)
        statistics.diskRemaining.store(pendingBytes, ordering: .relaxed)
    }

    /// A drive file truncated under the guest (by someone else: hmp never shrinks it) now reads as zeros past its
    /// new end, which the chunks already sent do not hold: mark them dirty so that they go again as the guest sees
    /// them. The guest's own writes extend the file again, so a shrink undone between two looks goes unseen.
    private func noticeShrunkenFiles() {
        for (index, drive) in sendingDrives.enumerated() {
            guard let now = fileSize(drive) else { continue }
            let before = min(fileSizes[index], drive.size)
            if now < before {
                let first = Int(now >> UInt64(Drive.chunkShift))
                drive.dirty.mark(first..<drive.chunkCount)
            }
            fileSizes[index] = now
        }
    }

    private func fileSize(_ drive: Drive) -> UInt64? {
        var st = stat()
        guard fstat(drive.fileDescriptor, &st) == 0 else { return nil }
        return UInt64(st.st_size)
    }

    /// Sends the next bulk chunk (PROGRESS, then the data); false when the bulk phase is over.
    private func sendBulkChunk(_ f: QEMUFileWriter) throws(MigrationError) -> Bool {
        let sending = sendingDrives
        while bulkDrive < sending.count {
            let drive = sending[bulkDrive]
            if bulkChunk >= drive.chunkCount {
                bulkDrive += 1
                bulkChunk = 0
                continue
            }
            let index = bulkChunk
            bulkChunk += 1
            let offset = UInt64(index) << UInt64(Drive.chunkShift)
            bulkBytesLeft -= min(UInt64(Drive.chunkSize), drive.size - offset)
            if mode == .incremental, isHole(drive, offset) { continue }
            var before: UInt64 = UInt64(index) * BlockSaveHandler.sectorsPerChunk
            for earlier in sending[..<bulkDrive] { before += (earlier.size + 511) >> 9 }
            let percent = totalSectors == 0 ? 0 : before * 100 / totalSectors
            try f.put64(percent << 9 | Flag.progress)
            statistics.blockProgress.store(percent, ordering: .relaxed)
            // Writes from now on are sent again in the dirty phase (bdrv_reset_dirty_bitmap before the read).
            _ = drive.dirty.testAndClear(index)
            queues[bulkDrive].remove(index)
            try sendChunk(f, drive, index)
            return true
        }
        return false
    }

    /// Sends one dirty chunk of any drive; false when none is dirty. Each drive's queue goes on from where it
    /// stopped and is refilled from the drive's bitmap only once empty, so a chunk costs a step of the queue's
    /// scan, not a scan of the bitmap.
    private func sendDirtyChunk(_ f: QEMUFileWriter) throws(MigrationError) -> Bool {
        for (drive, queue) in zip(sendingDrives, queues) {
            if queue.count == 0 { queue.take(drive.dirty) }
            guard let index = queue.next() else { continue }
            try sendChunk(f, drive, index)
            return true
        }
        return false
    }

    /// One DEVICE_BLOCK record: the chunk's sector, the drive id and 1 MiB, zero-padded past the end of the disk.
    /// Over a socket the data goes with sendfile; otherwise (or for what sendfile left) it is read straight into
    /// the stream buffer when it fits there: no staging copy either way.
    private func sendChunk(_ f: QEMUFileWriter, _ drive: Drive, _ index: Int) throws(MigrationError) {
        let offset = UInt64(index) << UInt64(Drive.chunkShift)
        let count = Int(min(UInt64(Drive.chunkSize), drive.size - offset))
        try f.put64((offset >> 9) << 9 | Flag.deviceBlock)
        try f.putLengthPrefixedString(drive.id)
        let sent = try f.putFile(drive.fileDescriptor, offset: offset, count: count)
        let rest = Drive.chunkSize - sent
        guard rest > 0 else { return }
        let fill = { (buffer: UnsafeMutableRawBufferPointer) throws(MigrationError) in
            let data = count - sent
            do {
                try drive.read(at: offset + UInt64(sent), into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<data]))
            } catch {
                throw MigrationError("Error reading sector \(offset >> 9) of block device \(drive.id): \(error)")
            }
            if data < rest {
                UnsafeMutableRawBufferPointer(rebasing: buffer[data..<rest]).initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
        if rest <= f.capacity {
            try f.putBytes(count: rest, fill)
        } else {
            let buffer = UnsafeMutableRawBufferPointer(rebasing: chunkBuffer[0..<rest])
            try fill(buffer)
            try f.putBytes(UnsafeRawBufferPointer(buffer))
        }
    }

    /// `-i`: a chunk with no allocated byte in the sparse image (SEEK_DATA finds no data inside it).
    private func isHole(_ drive: Drive, _ offset: UInt64) -> Bool {
        let data = lseek(drive.fileDescriptor, off_t(offset), seekData)
        if data < 0 { return errno == ENXIO }
        return UInt64(data) >= offset + UInt64(Drive.chunkSize)
    }

    // MARK: - Loading (block_load)

    public func load(_ r: QEMUFileReader, version: UInt32, progress: (String) -> Void) throws(MigrationError) {
        // Records here are small headers before 1 MiB of data: reading far ahead would pull the data into the
        // buffer and cost a copy that `transfer` avoids.
        let readAhead = r.readAhead
        r.readAhead = 512
        defer { r.readAhead = readAhead }
        while true {
            let word = try r.get64()
            let flags = word & 0x1FF
            let sector = word >> 9
            if flags & Flag.deviceBlock != 0 {
                let name = try r.getLengthPrefixedString()
                guard let drive = drives.first(where: { $0.id == name }) else {
                    throw MigrationError("Error unknown block device \(name)")
                }
                let offset = sector << 9
                let buffer = chunkBuffer
                // Past the end of the destination disk the write fails (blk_pwrite's range check); the padding of a
                // last partial chunk is dropped.
                guard offset < drive.size else {
                    throw MigrationError(
                        "Block device \(drive.id): chunk at offset \(offset) is beyond the end of the drive "
                            + "(\(drive.size) bytes): give the destination a drive at least as large as the source's")
                }
                let count = Int(min(UInt64(Drive.chunkSize), drive.size - offset))
                guard !drive.readOnly else { throw MigrationError("Permission denied") }
                let writer = driveWriter()
                if flags & Flag.zeroBlock != 0 {
                    if let writer {
                        try writer.writeZeros(count, to: drive, at: offset)
                    } else {
                        buffer.initializeMemory(as: UInt8.self, repeating: 0)
                        try BlockSaveHandler.write(drive, offset, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                    }
                } else {
                    if let writer {
                        try writer.write(count, from: r, to: drive, at: offset)
                    } else {
                        // Straight from the stream into the file (splice over a socket): no staging copy.
                        try r.transfer(count, toFile: drive.fileDescriptor, at: offset) { code in
                            BlockSaveHandler.writeError(drive, offset, code)
                        }
                    }
                    try r.skip(UInt64(Drive.chunkSize - count))
                }
                drive.dirty.mark(Int(offset >> UInt64(Drive.chunkShift)))
            } else if flags & Flag.progress != 0 {
                if !bannerPrinted {
                    progress("Receiving block device images")
                    bannerPrinted = true
                }
                progress("Completed \(Int32(truncatingIfNeeded: sector)) %")
            } else if flags & Flag.eos == 0 {
                throw MigrationError("Unknown block migration flags: 0x\(hex(flags))")
            }
            if flags & Flag.eos != 0 { return }
        }
    }

    /// The thread that writes received chunks, started at the first one; nil when it cannot start (the loader then
    /// writes them itself).
    private func driveWriter() -> DriveWriter? {
        if let writer { return writer }
        guard !writerUnavailable else { return nil }
        writer = DriveWriter()
        writerUnavailable = writer == nil
        return writer
    }

    /// The end of the stream: every chunk received is in its file, or the first failed write is thrown.
    public func finishLoad() throws(MigrationError) {
        defer { writer = nil }
        try writer?.finish()
    }

    /// A load that failed: the writing thread is told that no more comes and is waited for.
    public func abandonLoad() {
        writer?.abandon()
        writer = nil
    }

    /// Writes received bytes into the drive's file, a failure named as `writeError` names it. Also DriveWriter's.
    static func write(_ drive: Drive, _ offset: UInt64, _ bytes: UnsafeRawBufferPointer) throws(MigrationError) {
        do {
            try drive.write(at: offset, from: bytes)
        } catch .driveReadOnly {
            throw MigrationError("Permission denied")
        } catch .driveIOFailed(_, _, let code) {
            throw BlockSaveHandler.writeError(drive, offset, code)
        } catch {
            throw MigrationError("Input/output error")
        }
    }

    /// A failed write on the destination, naming the drive and the errno (`No space left on device`) instead of
    /// QEMU's bare `Input/output error`.
    static func writeError(_ drive: Drive, _ offset: UInt64, _ code: Int32) -> MigrationError {
        MigrationError(
            "Error writing block device \(drive.id) (\(drive.path)) at offset \(offset): \(errnoText(code))")
    }
}

/// Dirty chunks of one drive waiting to be sent: bits taken from the drive's bitmap, a count of them, and where the
/// ascending scan goes on. Owned storage, allocated in init and freed in deinit.
private final class ChunkQueue {
    private let words: UnsafeMutableBufferPointer<UInt64>
    private(set) var count = 0
    private var cursor = 0

    init(wordCount: Int) {
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0)
    }

    deinit {
        words.deallocate()
    }

    func take(_ bitmap: DirtyBitmap) {
        count += bitmap.drain(into: words)
    }

    func clear() {
        words.update(repeating: 0)
        count = 0
        cursor = 0
    }

    func remove(_ index: Int) {
        let mask: UInt64 = 1 << UInt64(index & 63)
        guard words[index >> 6] & mask != 0 else { return }
        words[index >> 6] &= ~mask
        count -= 1
    }

    /// Takes the next queued chunk at or after the cursor word, wrapping once; nil when the queue is empty.
    func next() -> Int? {
        guard count > 0 else { return nil }
        for step in 0...words.count {
            let w = (cursor + step) % words.count
            let bits = words[w]
            guard bits != 0 else { continue }
            let bit = bits.trailingZeroBitCount
            words[w] = bits & (bits - 1)
            count -= 1
            cursor = w
            return w << 6 | bit
        }
        return nil
    }
}

/// Linux's SEEK_DATA, which Glibc's Swift overlay does not export.
private let seekData: Int32 = 3
