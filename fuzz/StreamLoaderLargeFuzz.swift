// libFuzzer entry for SaveVMLoader over a guest large enough for the loader's reads straight into guest RAM
// (`QEMUFileReader.readPage`, reached after 32 consecutive PAGE records in a 2 MiB region once the buffer is dry) and
// for the prefaulting thread. Each input is loaded (up to) twice into fresh destinations of 4 MiB of RAM and a 256 KiB drive
// `drive0`:
//   - through a pipe, fed in ragged pieces by a writer thread, with a small read buffer, so that reads end
//     mid-header and mid-page and the read-ahead meets records it has to put back;
//   - from a regular file with a buffer larger than any input, where no read comes up short (the block loader's
//     512-byte read-ahead aside), so that `readPage` almost never lands anything ahead.
// Both must load or fail with a `MigrationError`, never trap, and leave every page they did not populate zero; and
// they must agree: the same result (run state or error text), the same RAM, the same pages populated, the same
// drive bytes. The second load runs only for inputs whose first read ahead into guest RAM (the new path).
// Built by fuzz/build.sh (not a SwiftPM product, so CI's build stays fast).
import Glibc
import Machine
import Migration
import Platform

private let fuzzDir = fuzzScratchDirectory("hmp-fuzz-large")

private let ramSize: UInt64 = 4 << 20
private let driveSize = 256 << 10

private func makeMachine(_ name: String) -> Machine {
    let image = fuzzDir + "/" + name + ".img"
    let fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    ftruncate(fd, off_t(driveSize))
    close(fd)
    return try! Machine(configuration: MachineConfiguration(
        ramSize: ramSize, drives: [DriveConfiguration(path: image, id: "drive0")], startPaused: true))
}

/// The destination fed through the pipe, and the one fed from a file.
private let piped = makeMachine("piped")
private let filed = makeMachine("filed")

/// How often each of `readPage`'s outcomes happened over the run, printed at exit (evidence the path was reached).
nonisolated(unsafe) private var totalDirect = 0
nonisolated(unsafe) private var totalPutBack = 0
nonisolated(unsafe) private var inputs = 0
nonisolated(unsafe) private var compared = 0

private let setUp: Void = {
    // The loader may stop reading early: the writer then gets EPIPE instead of being killed.
    signal(SIGPIPE, SIG_IGN)
    atexit {
        let line = "stream-loader-large-fuzz: \(inputs) inputs (\(compared) loaded twice and compared), "
            + "\(totalDirect) pages read ahead into guest RAM, "
            + "\(totalPutBack) read-aheads put back\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress!, $0.count - 1) }
    }
}()

/// What the writer thread feeds: the input's bytes (valid until the entry returns, which joins the writer: joined,
/// not signalled, so that the thread has let go of this object too, or LeakSanitizer sees it still allocated).
private final class Feed: @unchecked Sendable {
    let bytes: UnsafePointer<UInt8>
    let count: Int
    let fd: Int32
    var seed: UInt64

    init(bytes: UnsafePointer<UInt8>, count: Int, fd: Int32, seed: UInt64) {
        self.bytes = bytes
        self.count = count
        self.fd = fd
        self.seed = seed
    }

    func next() -> UInt64 {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        return seed >> 33
    }

    /// Ragged pieces: one in four of 1 to 16 bytes (a header or a field cut), the others up to 16 pages. After one
    /// piece in six the writer waits (a few ms at most) for the reader to drain the pipe, so that the reader's
    /// buffer runs dry there and its next read gets only what comes next: mid-header, mid-page, inside a run.
    func run() {
        var at = 0
        while at < count {
            let r = next()
            let piece = r % 4 == 0 ? 1 + Int((r >> 2) % 16) : 1 + Int((r >> 2) % 66000)
            let n = write(fd, bytes + at, min(piece, count - at))
            if n <= 0 { break }
            at += n
            if (r >> 40) % 6 == 0 {
                var queued: Int32 = 0
                // Not once the reader is gone (POLLERR): what it left in the pipe stays there.
                var gone = pollfd(fd: fd, events: 0, revents: 0)
                for _ in 0..<200 {
                    guard ioctl(fd, UInt(FIONREAD), &queued) == 0, queued > 0, poll(&gone, 1, 0) == 0 else { break }
                    usleep(20)
                }
            }
        }
        close(fd)
    }
}

/// Zero RAM, nothing populated: a fresh destination. Only populated pages are zeroed: the others were checked zero.
/// The drive keeps its bytes (both drives are checked equal).
private func reset(_ machine: Machine) {
    let populated = machine.ram.populated
    machine.ram.withLoadingBytes { all in
        for w in 0..<populated.wordCount {
            var word = populated.word(w)
            while word != 0 {
                let page = w * 64 + word.trailingZeroBitCount
                word &= word - 1
                _ = memset(all.baseAddress! + page << GuestRAM.pageShift, 0, GuestRAM.pageSize)
            }
        }
    }
    populated.clearAll()
    machine.ram.dirty.clearAll()
}

/// 256 KiB of zeros, to compare unpopulated stretches of RAM against with libc's memcmp (not instrumented per byte).
nonisolated(unsafe) private let zeros = UnsafeMutableRawPointer.allocate(byteCount: 64 << GuestRAM.pageShift, alignment: 4096)
private let zerosReady: Void = { _ = memset(zeros, 0, 64 << GuestRAM.pageShift) }()

private func loadResult(_ machine: Machine, _ reader: QEMUFileReader) -> String {
    do {
        return "loaded: \(try SaveVMLoader(machine: machine).load(reader) { _ in } ?? "no run state")"
    } catch {
        // Typed throws: this is a MigrationError; anything else would not compile.
        return "failed: \(error)"
    }
}

/// The two drives' bytes, read back into buffers kept across inputs.
nonisolated(unsafe) private let driveCopies = (
    UnsafeMutableRawPointer.allocate(byteCount: driveSize, alignment: 4096),
    UnsafeMutableRawPointer.allocate(byteCount: driveSize, alignment: 4096))

private func readDrive(_ machine: Machine, into buffer: UnsafeMutableRawPointer) {
    let n = pread(machine.drives[0].fileDescriptor, buffer, driveSize, 0)
    precondition(n == driveSize, "reading the drive back: \(n)")
}

/// Every page the load did not populate is still zero (what `readPage` landed ahead and put back was undone).
private func checkUnpopulatedZero(_ machine: Machine, _ result: String) {
    let ram = machine.ram
    ram.withUnsafeBytes { bytes in
        let x = bytes.baseAddress!
        for w in 0..<ram.populated.wordCount {
            let word = ram.populated.word(w)
            let at = x + (w * 64) << GuestRAM.pageShift
            if word == ~0 || word == 0 && memcmp(at, zeros, 64 << GuestRAM.pageShift) == 0 { continue }
            for k in 0..<64 where word & (1 << k) == 0
                && memcmp(at + k << GuestRAM.pageShift, zeros, GuestRAM.pageSize) != 0
            {
                fatalError("page \(w * 64 + k) is not populated but not zero (\(result))")
            }
        }
    }
}

/// The two loads' RAM: the same bytes and the same pages populated.
private func compareRAM(_ result: String) {
    let a = piped.ram, b = filed.ram
    for w in 0..<a.populated.wordCount where a.populated.word(w) != b.populated.word(w) {
        fatalError("pages \(w * 64)..<\(w * 64 + 64) populated through a pipe: \(hex(a.populated.word(w))), "
            + "from a file: \(hex(b.populated.word(w))) (\(result))")
    }
    a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in
            let (x, y) = (x.baseAddress!, y.baseAddress!)
            if memcmp(x, y, Int(ramSize)) != 0 {
                let page = (0..<a.pageCount).first {
                    memcmp(x + $0 << GuestRAM.pageShift, y + $0 << GuestRAM.pageShift, GuestRAM.pageSize) != 0
                }!
                fatalError("page \(page) differs between the pipe's load and the file's (\(result))")
            }
        }
    }
}

/// Zeros both drives (256 KiB: `zeros` is that large).
private func resetDrives() {
    for machine in [piped, filed] {
        precondition(pwrite(machine.drives[0].fileDescriptor, zeros, driveSize, 0) == driveSize)
    }
}

private func hex(_ v: UInt64) -> String { String(v, radix: 16) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = setUp
    _ = zerosReady
    inputs += 1
    reset(piped)
    reset(filed)
    resetDrives()
    // The delivery's shape comes from the input, so that a finding replays with the same kind of pieces.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(size)
    for i in stride(from: 0, to: size, by: max(1, size / 64)) { hash = (hash ^ UInt64(data[i])) &* 0x100_0000_01b3 }

    // Through a pipe of 64 KiB, 256 KiB or 1 MiB, with a read buffer of 4 KiB to 1 MiB.
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return 0 }
    _ = fcntl(fds[1], 1031 /* F_SETPIPE_SZ */, Int32([64 << 10, 256 << 10, 1 << 20][Int(hash % 3)]))
    let feed = Feed(bytes: data, count: size, fd: fds[1], seed: hash)
    guard case .success(let writer) = PlatformThread.start({ feed.run() }) else {
        close(fds[0])
        close(fds[1])
        return 0
    }
    // 4 KiB leaves no room to read ahead (the plain path); 64 KiB runs dry every 16 pages.
    let bufferSize = [4096, 64 << 10, 76 << 10, 128 << 10, 1 << 20][Int((hash >> 8) % 5)]
    let pipeReader = QEMUFileReader(fileDescriptor: fds[0], bufferSize: bufferSize)
    let pipedResult = loadResult(piped, pipeReader)
    close(fds[0])
    pthread_join(writer, nil)
    totalDirect += pipeReader.pagesReadDirect
    totalPutBack += pipeReader.pageReadsPutBack
    checkUnpopulatedZero(piped, pipedResult)
    // The second load, the reference, only where the first read ahead into guest RAM: it halves the cost of the
    // other inputs, whose loads took the paths the small loader's fuzzer covers.
    guard pipeReader.pagesReadDirect + pipeReader.pageReadsPutBack > 0 else { return 0 }
    compared += 1

    // From a file, all of it in the buffer at the first read.
    let fd = open(fuzzDir + "/input", O_RDWR | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0)
    defer { close(fd) }
    var done = 0
    while done < size {
        let n = write(fd, data + done, size - done)
        precondition(n > 0)
        done += n
    }
    lseek(fd, 0, SEEK_SET)
    let fileReader = QEMUFileReader(fileDescriptor: fd, bufferSize: size + (64 << 10))
    let filedResult = loadResult(filed, fileReader)

    if pipedResult != filedResult {
        fatalError("through a pipe: \(pipedResult)\nfrom a file: \(filedResult)")
    }
    compareRAM(pipedResult)
    readDrive(piped, into: driveCopies.0)
    readDrive(filed, into: driveCopies.1)
    if memcmp(driveCopies.0, driveCopies.1, driveSize) != 0 { fatalError("the drives differ (\(pipedResult))") }
    return 0
}
