import CLinux
import Glibc
import Machine
import Platform
import Synchronization

/// The destination's chunk writes, on a thread of their own. The loader moves each chunk's bytes from the stream
/// into a pipe (splice: page references, no copy) and goes on parsing while this thread moves them from the pipe
/// into the drive's file (splice again: the one copy, into the page cache). Writing the file is the larger half of
/// a `-b` destination's work; on the loader's thread it held up the RAM pages behind it.
///
/// One thread, jobs in stream order: a chunk sent twice ends as the stream's last copy, as if written in place.
/// The pipes (`pipeCount` of 1 MiB, taken in turn) and a bounded job queue limit what is in flight to a few MiB of
/// page references.
/// A failed write is kept and thrown to the loader at its next `write` or at `finish`; the thread then drops the
/// bytes of later jobs, so the loader never waits on a pipe nobody empties. Owned by the loading thread.
final class DriveWriter {
    enum Job: Sendable {
        /// `count` bytes to move from pipe `pipe` into `drive` at `offset`.
        case data(pipe: Int, drive: Drive, offset: UInt64, count: Int)
        /// `count` zero bytes to write at `offset` (QEMU's zero-block record).
        case zeros(drive: Drive, offset: UInt64, count: Int)
    }

    /// At most this many jobs queued: zero-block jobs use no pipe space, so the pipes alone would not bound them.
    static let queueLimit = 64
    /// Pipes, used in turn: a splice into a file holds its pipe's lock for the whole write, so with one pipe the
    /// loader would wait on every write it meant to leave behind.
    static let pipeCount = 4

    /// What the thread shares with the loader: the pipes' read ends and the first failure; the buffers are the
    /// thread's.
    private final class Shared: Sendable {
        let pipeReads: [Int32]
        let failure = Mutex<MigrationError?>(nil)
        // Both raw buffers are made in init and freed in deinit, once the thread (which holds a reference) has
        // gone; only the thread reads or writes them.
        /// Where bytes go when splice cannot take them.
        nonisolated(unsafe) let scratch: UnsafeMutableRawPointer
        /// A chunk of zeros, for zero-block records, never written: calloc maps untouched zero pages, so it costs
        /// no memory.
        nonisolated(unsafe) let zeros: UnsafeMutableRawPointer

        init?(pipeReads: [Int32]) {
            guard let zeros = calloc(1, Drive.chunkSize) else { return nil }
            self.zeros = zeros
            scratch = .allocate(byteCount: Drive.chunkSize, alignment: 4096)
            self.pipeReads = pipeReads
        }

        deinit {
            scratch.deallocate()
            free(zeros)
        }

        /// One job; once a write has failed, the bytes of later ones are only taken from their pipes.
        func run(_ job: Job, _ spliceWorks: inout Bool) {
            let failed = failure.withLock { $0 != nil }
            var error: MigrationError?
            switch job {
            case .data(let pipe, let drive, let offset, let count):
                if failed {
                    drop(count, pipeReads[pipe])
                } else {
                    error = move(count, pipeReads[pipe], drive, offset, &spliceWorks)
                }
            case .zeros(let drive, let offset, let count):
                if !failed { error = write(drive, offset, UnsafeRawPointer(zeros), count) }
            }
            if let error { failure.withLock { $0 = $0 ?? error } }
        }

        /// Pipe → file. A file that cannot take a splice gets the bytes through `scratch` instead. A pipe that ends
        /// early means the loader gave up on the stream, whose error it reports itself: nothing to say here.
        private func move(
            _ count: Int, _ pipeRead: Int32, _ drive: Drive, _ offset: UInt64, _ spliceWorks: inout Bool
        ) -> MigrationError? {
            // Blocks allocated in one extent first cost ext4 less than the same blocks found one by one while the
            // pages are copied (about 10 % of this thread for a fresh image). Advisory: a write that then needs
            // space it cannot have still fails and says so.
            _ = hmp_allocate(drive.fileDescriptor, off_t(offset), off_t(count))
            var done = 0
            while done < count {
                if spliceWorks {
                    var position = Int64(offset) + Int64(done)
                    switch retryingInterrupts({ hmp_splice(pipeRead, drive.fileDescriptor, &position, count - done) }) {
                    case .success(0): return nil
                    case .success(let n):
                        done += n
                        continue
                    case .failure(let error) where error == .invalidArgument:
                        // Nothing was taken from the pipe: the same bytes go through scratch below.
                        spliceWorks = false
                    case .failure(let error):
                        drop(count - done, pipeRead)
                        return BlockSaveHandler.writeError(drive, offset, error.rawValue)
                    }
                }
                guard case .success(let n) = retryingInterrupts({ read(pipeRead, scratch, min(count - done, Drive.chunkSize)) }),
                    n > 0
                else { return nil }
                if let error = write(drive, offset + UInt64(done), UnsafeRawPointer(scratch), n) {
                    drop(count - done - n, pipeRead)
                    return error
                }
                done += n
            }
            return nil
        }

        private func write(_ drive: Drive, _ offset: UInt64, _ bytes: UnsafeRawPointer, _ count: Int) -> MigrationError? {
            do throws(MigrationError) {
                try BlockSaveHandler.write(drive, offset, UnsafeRawBufferPointer(start: bytes, count: count))
                return nil
            } catch {
                return error
            }
        }

        /// Reads and forgets `count` bytes of the pipe (or up to its end).
        private func drop(_ count: Int, _ pipeRead: Int32) {
            var left = count
            while left > 0 {
                guard case .success(let n) = retryingInterrupts({ read(pipeRead, scratch, min(left, Drive.chunkSize)) }),
                    n > 0
                else { return }
                left -= n
            }
        }
    }

    private let shared: Shared
    /// The pipes' write ends, -1 once closed.
    private var pipeWrites: [Int32]
    private var nextPipe = 0
    private let worker: WorkerThread<Job>
    private var stopped = false

    /// A writer with its pipes and thread, or nil when they cannot be had (the loader then writes itself).
    init?() {
        var reads: [Int32] = []
        var writes: [Int32] = []
        func closeAll() { for fd in reads + writes { close(fd) } }
        for _ in 0..<DriveWriter.pipeCount {
            guard let pipe = try? Descriptor.pipe() else {
                closeAll()
                return nil
            }
            // A chunk's worth: the default 64 KiB would make the loader wait on the thread 16 times a chunk.
            _ = hmp_set_pipe_size(pipe.write, Int32(Drive.chunkSize))
            reads.append(pipe.read)
            writes.append(pipe.write)
        }
        guard let shared = Shared(pipeReads: reads),
            let worker = WorkerThread<Job>(capacity: DriveWriter.queueLimit, body: { worker in
                var spliceWorks = true
                worker.forEach { shared.run($0, &spliceWorks) }
            })
        else {
            closeAll()
            return nil
        }
        self.shared = shared
        self.pipeWrites = writes
        self.worker = worker
    }

    deinit {
        abandon()
    }

    /// Queues `count` bytes of the stream for `drive` at `offset` and moves them into the next pipe; an earlier
    /// write's failure is thrown instead.
    func write(_ count: Int, from reader: QEMUFileReader, to drive: Drive, at offset: UInt64) throws(MigrationError) {
        let pipe = nextPipe
        nextPipe = (nextPipe + 1) % DriveWriter.pipeCount
        try submit(.data(pipe: pipe, drive: drive, offset: offset, count: count))
        try reader.move(count, toPipe: pipeWrites[pipe])
    }

    /// Queues a chunk of zeros.
    func writeZeros(_ count: Int, to drive: Drive, at offset: UInt64) throws(MigrationError) {
        try submit(.zeros(drive: drive, offset: offset, count: min(count, Drive.chunkSize)))
    }

    private func submit(_ job: Job) throws(MigrationError) {
        if let error = shared.failure.withLock({ $0 }) { throw error }
        worker.submit(job)
    }

    /// Waits until every queued write is in its file and ends the thread; throws the first write's failure.
    func finish() throws(MigrationError) {
        stop()
        if let error = shared.failure.withLock({ $0 }) { throw error }
    }

    /// Ends the thread without waiting for the stream: the pipes' ends tell it that no more bytes come. Idempotent.
    func abandon() {
        closeWriteEnds()
        stop()
    }

    private func stop() {
        guard !stopped else { return }
        stopped = true
        worker.stop()
        for fd in shared.pipeReads { close(fd) }
        closeWriteEnds()
    }

    private func closeWriteEnds() {
        for (i, fd) in pipeWrites.enumerated() where fd >= 0 {
            close(fd)
            pipeWrites[i] = -1
        }
    }
}
