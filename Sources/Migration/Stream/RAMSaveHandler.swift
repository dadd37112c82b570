public import Machine

/// The `ram` section, version 4, for the one RAMBlock `ram` (as `-M none -m N`). The seed's ram_save_* and
/// ram_load_precopy: a to-send bitmap filled by `syncDirty` (migration_bitmap_sync), pages scanned round-robin,
/// ZERO for all-zero pages and PAGE otherwise, CONTINUE once the block has been named.
public final class RAMSaveHandler: SaveVMHandler {
    public static let blockName = "ram"

    enum Flag {
        static let full: UInt64 = 0x01
        static let zero: UInt64 = 0x02
        static let memSize: UInt64 = 0x04
        static let page: UInt64 = 0x08
        static let eos: UInt64 = 0x10
        static let `continue`: UInt64 = 0x20
        static let xbzrle: UInt64 = 0x40
        static let hook: UInt64 = 0x80
        static let compressPage: UInt64 = 0x100
    }

    public let idstr = "ram"
    public let versionID: UInt32 = 4
    public var isIterative: Bool { true }

    private let ram: GuestRAM
    private let statistics: MigrationStreamStatistics
    /// Pages still to send, one bit each; bits come from `ram.dirty` at each sync. Owned storage (allocated in
    /// init, freed in deinit) rather than an array property, so that the per-page scan pays no exclusivity check.
    private let toSend: UnsafeMutableBufferPointer<UInt64>
    private var remaining = 0
    /// Where the round-robin scan goes on (the seed's last_page).
    private var cursor = 0
    /// The block has been named once: later records use CONTINUE, also in later sections.
    private var blockNamed = false
    /// Incoming: the last block named in the stream (CONTINUE state, kept across sections).
    private var loadBlockKnown = false
    /// Incoming: faults guest RAM in ahead of dense runs of PAGE records, made on the first one.
    private var prefaulter: RAMPrefaulter?
    /// Incoming: how many PAGE records in a row had consecutive addresses, the last one's address, and the
    /// records `receivePage` expects next (owned storage, made on first use, freed in deinit).
    private var pageRun = 0
    private var lastPageAddress: UInt64 = .max
    /// Incoming: PAGE records in the section being loaded and in the last one that ended with EOS. Senders cut
    /// sections at a steady size (hmp's at a share of each round's budget), so reading ahead stops where the
    /// section is likely to end instead of landing its EOS, footer and the next section in guest pages.
    private var sectionPages = 0
    private var previousSectionPages = 0
    private var pageTargets: UnsafeMutableBufferPointer<QEMUFileReader.PageTarget>?

    public init(ram: GuestRAM, statistics: MigrationStreamStatistics) {
        self.ram = ram
        self.statistics = statistics
        toSend = .allocate(capacity: ram.dirty.wordCount)
        toSend.initialize(repeating: 0)
    }

    deinit {
        toSend.deallocate()
        pageTargets?.deallocate()
    }

    /// O(1): the count is kept as bits are taken and sent.
    public var pendingBytes: UInt64 { UInt64(remaining) << UInt64(GuestRAM.pageShift) }

    /// migration_bitmap_sync: takes the guest's dirty bits into the to-send bitmap (clean words cost a load).
    public func syncDirty() {
        remaining += ram.dirty.drain(into: toSend)
        statistics.dirtySyncs.wrappingAdd(1, ordering: .relaxed)
    }

    /// MEM_SIZE with the block list, then EOS. The first pass treats every page as dirty; writes from before the
    /// migration are forgotten.
    public func setup(_ f: QEMUFileWriter) throws(MigrationError) {
        ram.dirty.clearAll()
        toSend.update(repeating: ~0)
        let tail = ram.pageCount & 63
        if tail != 0, !toSend.isEmpty { toSend[toSend.count - 1] = (1 << UInt64(tail)) - 1 }
        remaining = ram.pageCount
        cursor = 0
        blockNamed = false
        // Marking every page is QEMU's first bitmap sync (ram_init_bitmaps): dirty-sync-count 1, pass 1.
        statistics.dirtySyncs.wrappingAdd(1, ordering: .relaxed)
        let before = f.bytesWritten
        try f.put64(ram.size | Flag.memSize)
        try f.putLengthPrefixedString(RAMSaveHandler.blockName)
        try f.put64(ram.size)
        try f.put64(Flag.eos)
        statistics.ramTransferred.wrappingAdd(f.bytesWritten - before, ordering: .relaxed)
    }

    public func iterate(_ f: QEMUFileWriter, budget: Int) throws(MigrationError) -> Bool {
        try send(f, limit: UInt64(max(budget, 0)))
        return remaining == 0
    }

    public func complete(_ f: QEMUFileWriter) throws(MigrationError) {
        syncDirty()
        try send(f, limit: .max, countingEOS: false)
    }

    /// The scan's state for one `send`, kept in locals and written back once: per-page work touches no class
    /// property and no shared counter.
    private struct Scan {
        var remaining: Int
        var cursor: Int
        var zeroPages: UInt64 = 0
        var normalPages: UInt64 = 0
    }

    /// Sends pages until about `limit` bytes went out or none is left, then EOS. QEMU 7.2 counts the EOS in the RAM
    /// transferred after an iterate (ram_save_iterate's ram_transferred_add(8)), not after the completion's.
    private func send(_ f: QEMUFileWriter, limit: UInt64, countingEOS: Bool = true) throws(MigrationError) {
        let before = f.bytesWritten
        let pageCount = ram.pageCount
        var scan = Scan(remaining: remaining, cursor: cursor)
        defer {
            remaining = scan.remaining
            cursor = scan.cursor
            statistics.duplicate.wrappingAdd(scan.zeroPages, ordering: .relaxed)
            statistics.normal.wrappingAdd(scan.normalPages, ordering: .relaxed)
            statistics.normalByteCount.wrappingAdd(scan.normalPages << UInt64(GuestRAM.pageShift), ordering: .relaxed)
        }
        try ram.withUnsafeBytes { (all) throws(MigrationError) in
            guard let base = all.baseAddress else { return }
            var scanned = 0
            // The first record names the block; every later one is CONTINUE.
            if !blockNamed, scan.remaining > 0, limit > 0, let page = nextPage(&scan) {
                scanned += 1
                try sendPage(f, base + page << GuestRAM.pageShift, page: page, &scan)
            }
            while scan.remaining > 0, f.bytesWritten - before < limit, scanned <= pageCount {
                guard let page = nextPage(&scan) else { break }
                scanned += 1
                if !ram.populated.isDirty(page) {
                    scanned += try sendZeroRun(f, from: page, &scan)
                    continue
                }
                try sendPage(f, base + page << GuestRAM.pageShift, page: page, &scan)
            }
        }
        let pages = f.bytesWritten - before
        try f.put64(Flag.eos)
        statistics.ramTransferred.wrappingAdd(countingEOS ? f.bytesWritten - before : pages, ordering: .relaxed)
    }

    /// `page` (already taken) and the rest of its bitmap word's pages that are to be sent and were never written:
    /// ZERO records written in one go, so a huge idle guest goes out at memory speed. Returns how many pages beyond
    /// `page` it sent.
    private func sendZeroRun(_ f: QEMUFileWriter, from page: Int, _ scan: inout Scan) throws(MigrationError) -> Int {
        let w = page >> 6
        let bit = page & 63
        let above: UInt64 = bit == 63 ? 0 : ~0 << UInt64(bit + 1)
        let more = toSend[w] & ~ram.populated.word(w) & above
        toSend[w] &= ~more
        let extra = more.nonzeroBitCount
        scan.remaining -= extra
        let bits = more | 1 << UInt64(bit)
        // The cursor stays after `page`: the word's written pages between these go next, in this lap, so a pass
        // moves through RAM in address order.
        let record = 9
        try f.putBytes(count: bits.nonzeroBitCount * record) { buffer in
            guard let out = buffer.baseAddress else { return }
            var left = bits
            var at = 0
            while left != 0 {
                let offset = UInt64(w << 6 | left.trailingZeroBitCount) << UInt64(GuestRAM.pageShift)
                out.storeBytes(of: (offset | Flag.zero | Flag.continue).bigEndian, toByteOffset: at, as: UInt64.self)
                out.storeBytes(of: 0, toByteOffset: at + 8, as: UInt8.self)
                at += record
                left &= left - 1
            }
        }
        scan.zeroPages += UInt64(extra + 1)
        return extra
    }

    /// Finds and clears the next bit at or after the cursor, wrapping once.
    private func nextPage(_ scan: inout Scan) -> Int? {
        let words = toSend.count
        guard words > 0 else { return nil }
        var w = scan.cursor >> 6
        var bits = toSend[w] & (~0 << UInt64(scan.cursor & 63))
        for _ in 0...words {
            if bits != 0 {
                let page = w << 6 | bits.trailingZeroBitCount
                // Every page still to send in this word is read after this, so a guest write that marked one of
                // them before now goes out with it: its mark need not send the page again next pass (QEMU clears
                // the dirty log ahead of sending too). A write after this marks the page anew. A clean word costs
                // a load.
                ram.dirty.clear(toSend[w], inWord: w)
                toSend[w] &= ~(1 << UInt64(page & 63))
                scan.remaining -= 1
                scan.cursor = page + 1 == ram.pageCount ? 0 : page + 1
                return page
            }
            w = w + 1 == words ? 0 : w + 1
            bits = toSend[w]
        }
        return nil
    }

    /// A page never written is known zero (`ram.populated`) and goes as ZERO without being read, so a large idle
    /// guest costs a record per page and no page faults.
    private func sendPage(
        _ f: QEMUFileWriter, _ pointer: UnsafeRawPointer, page: Int, _ scan: inout Scan
    ) throws(MigrationError) {
        let offset = UInt64(page) << UInt64(GuestRAM.pageShift)
        let zero = !ram.populated.isDirty(page) || GuestRAM.isZero(pointer, count: GuestRAM.pageSize)
        var header = offset | (zero ? Flag.zero : Flag.page)
        if blockNamed { header |= Flag.continue }
        try f.put64(header)
        if !blockNamed {
            try f.putLengthPrefixedString(RAMSaveHandler.blockName)
            blockNamed = true
        }
        if zero {
            try f.put8(0)
            scan.zeroPages += 1
        } else {
            // By reference: flush sends it straight from guest RAM, saving a 4 KiB copy per page.
            try f.putExternal(pointer, count: GuestRAM.pageSize)
            scan.normalPages += 1
        }
    }

    // MARK: - Loading (ram_load_precopy)

    public func load(_ r: QEMUFileReader, version: UInt32, progress: (String) -> Void) throws(MigrationError) {
        guard version == 4 else { throw MigrationError("Invalid argument") }
        sectionPages = 0
        try ram.withLoadingBytes { (all) throws(MigrationError) in
            while true {
                let word = try r.get64()
                let flags = word & 0xFFF
                let address = word & ~0xFFF
                if flags & Flag.compressPage != 0 {
                    throw MigrationError("Received an unexpected compressed page")
                }
                var host: UnsafeMutableRawPointer?
                if flags & (Flag.zero | Flag.page | Flag.xbzrle) != 0 {
                    host = try blockFromStream(r, flags: flags, address: address, all)
                }
                switch flags & ~Flag.continue {
                case Flag.memSize:
                    try loadMemSize(r, total: address)
                case Flag.zero:
                    let fill = try r.get8()
                    if let host { fillPage(host, address: address, with: fill) }
                    if flags & Flag.continue != 0 { skipZeroRun(r) }
                case Flag.page:
                    if let host {
                        populate(address)
                        prefaulter(for: address)
                        try receivePage(r, host, address: address, all)
                    }
                case Flag.xbzrle:
                    if let host {
                        populate(address)
                        try loadXBZRLE(r, host, address: address)
                    }
                case Flag.eos:
                    previousSectionPages = sectionPages
                    return
                default:
                    if flags & Flag.hook != 0 { throw MigrationError("Invalid argument") }
                    throw MigrationError("Unknown combination of migration flags: 0x\(hex(flags))")
                }
            }
        }
    }

    /// A ZERO record, as QEMU's ram_handle_compressed: RAM already zero is not written, so zero pages onto a fresh
    /// destination cost no memory (a page never written is not even read).
    private func fillPage(_ host: UnsafeMutableRawPointer, address: UInt64, with fill: UInt8) {
        let page = Int(address >> UInt64(GuestRAM.pageShift))
        if fill == 0 {
            guard ram.populated.isDirty(page), !GuestRAM.isZero(host, count: GuestRAM.pageSize) else { return }
        } else {
            ram.populated.mark(page)
        }
        host.initializeMemory(as: UInt8.self, repeating: fill, count: GuestRAM.pageSize)
    }

    /// The ZERO|CONTINUE records with fill 0 that follow in the buffer, onto pages never written: nothing to do for
    /// each but check its address, so they are parsed in place rather than a field at a time. Stops at anything
    /// else, which the record loop then reads as usual.
    private func skipZeroRun(_ r: QEMUFileReader) {
        let record = 9
        let pageCount = UInt64(ram.pageCount)
        r.consumeBuffered { bytes in
            guard let base = bytes.baseAddress else { return 0 }
            var at = 0
            while bytes.count - at >= record {
                let word = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                guard word & 0xFFF == Flag.zero | Flag.continue, base.load(fromByteOffset: at + 8, as: UInt8.self) == 0
                else { break }
                let page = word >> UInt64(GuestRAM.pageShift)
                guard page < pageCount, !ram.populated.isDirty(Int(page)) else { break }
                at += record
            }
            return at
        }
    }

    /// A PAGE record's data, straight into guest RAM. Once a run of consecutive pages is under way and the read
    /// buffer is empty, the same read also takes the records expected next (the following pages of the same
    /// 2 MiB region that were never written, so still zero, at most as many as the run so far) straight into
    /// their pages: the sender sends pages in address order, so a run of pages costs one kernel copy each instead
    /// of a copy into the buffer and another out of it. What turns out to be something else is put back for the
    /// record loop; a mismatch ends the run.
    private func receivePage(
        _ r: QEMUFileReader, _ host: UnsafeMutableRawPointer, address: UInt64, _ all: UnsafeMutableRawBufferPointer
    ) throws(MigrationError) {
        let size = GuestRAM.pageSize
        pageRun = address == lastPageAddress &+ UInt64(size) ? pageRun + 1 : 0
        lastPageAddress = address
        sectionPages += 1
        guard pageRun >= RAMSaveHandler.runBeforeDirectReads, r.buffered < size, let base = all.baseAddress else {
            try r.read(into: UnsafeMutableRawBufferPointer(start: host, count: size))
            return
        }
        let targets = pageTargets ?? {
            let made = UnsafeMutableBufferPointer<QEMUFileReader.PageTarget>.allocate(
                capacity: QEMUFileReader.maxPageTargets)
            pageTargets = made
            return made
        }()
        let region = address >> UInt64(RAMPrefaulter.regionShift)
        var limit = min(QEMUFileReader.maxPageTargets, pageRun)
        // Up to where the last section's length says this one ends; one at a time past that.
        if previousSectionPages > 0 { limit = max(min(limit, previousSectionPages - sectionPages), 1) }
        var count = 0
        var next = address + UInt64(size)
        while count < limit, next < ram.size, next >> UInt64(RAMPrefaulter.regionShift) == region,
            !ram.populated.isDirty(Int(next >> UInt64(GuestRAM.pageShift)))
        {
            let header = (next | Flag.page | Flag.continue).bigEndian
            (targets.baseAddress! + count).initialize(
                to: QEMUFileReader.PageTarget(header: header, destination: base + Int(next)))
            count += 1
            next += UInt64(size)
        }
        let run = try r.readPage(
            into: host, count: size, targets: UnsafeBufferPointer(rebasing: targets[0..<count]))
        if run.completed > 0 {
            // One atomic OR per bitmap word for the whole run, not one per page.
            let first = Int(address >> UInt64(GuestRAM.pageShift)) + 1
            ram.populated.mark(first..<first + run.completed)
            for k in 1...run.completed { prefaulter(for: address + UInt64(k * size)) }
            pageRun += run.completed
            sectionPages += run.completed
            lastPageAddress = address + UInt64(run.completed * size)
        }
        // A section's end does not end the run: the next section goes on from the next page.
        if run.mismatched, run.breakingHeader != Flag.eos { pageRun = 0 }
    }

    /// Consecutive PAGE records before `receivePage` reads ahead into guest RAM.
    static let runBeforeDirectReads = 32

    @inline(__always)
    private func prefaulter(for address: UInt64) {
        if ram.isPreallocated { return }
        if let prefaulter {
            prefaulter.willWrite(address)
        } else {
            let made = RAMPrefaulter(ram: ram)
            prefaulter = made
            made.willWrite(address)
        }
    }

    /// The incoming stream ended (or failed): the prefaulting thread, if any, is stopped and joined.
    public func endLoad() {
        prefaulter?.stop()
    }

    private func populate(_ address: UInt64) {
        ram.populated.mark(Int(address >> UInt64(GuestRAM.pageShift)))
    }

    /// ram_block_from_stream + host_from_ram_block_offset: the page's address in guest RAM.
    private func blockFromStream(
        _ r: QEMUFileReader, flags: UInt64, address: UInt64, _ all: UnsafeMutableRawBufferPointer
    ) throws(MigrationError) -> UnsafeMutableRawPointer {
        // The message is built only when it is thrown: formatting it per record cost more than the record.
        func illegal() -> String { "Illegal RAM offset \(hex(address))" }
        if flags & Flag.continue != 0 {
            guard loadBlockKnown else { throw MigrationError("Ack, bad migration stream!", context: [illegal()]) }
        } else {
            let name = try r.getLengthPrefixedString()
            guard name == RAMSaveHandler.blockName else {
                throw MigrationError("Can't find block \(name)", context: [illegal()])
            }
            loadBlockKnown = true
        }
        guard address < ram.size, let base = all.baseAddress else { throw MigrationError(illegal()) }
        return base + Int(address)
    }

    /// The MEM_SIZE block list: each named block must exist with the same (page-aligned) length.
    private func loadMemSize(_ r: QEMUFileReader, total: UInt64) throws(MigrationError) {
        var left = total
        while left != 0 {
            let name = try r.getLengthPrefixedString()
            let length = try r.get64()
            guard name == RAMSaveHandler.blockName else {
                throw MigrationError("Unknown ramblock \"\(name)\", cannot accept migration")
            }
            // qemu_ram_resize: the length is host-page aligned first; the block cannot be resized.
            let aligned = length &+ 4095 & ~4095
            if length != ram.size, aligned != ram.size {
                throw MigrationError("Size mismatch: ram: 0x\(hex(aligned)) != 0x\(hex(ram.size)): Invalid argument")
            }
            left = left &- length
        }
    }

    /// load_xbzrle + xbzrle_decode_buffer: zero-run/data-run pairs applied over the current page.
    private func loadXBZRLE(_ r: QEMUFileReader, _ host: UnsafeMutableRawPointer, address: UInt64) throws(MigrationError) {
        let context = ["Failed to decompress XBZRLE page at \(hex(address))"]
        let encoding = try r.get8()
        let length = Int(try r.get16())
        guard encoding == 1 else { throw MigrationError("Failed to load XBZRLE page - wrong compression!", context: context) }
        guard length <= GuestRAM.pageSize else { throw MigrationError("Failed to load XBZRLE page - len overflow!", context: context) }
        let src = try r.getBytes(length)
        let decodeError = MigrationError("Failed to load XBZRLE page - decode error!", context: context)
        var i = 0
        var d = 0
        func uleb() -> Int? {
            guard src.count - i >= 2 else { return nil }
            if src[i] & 0x80 == 0 {
                i += 1
                return Int(src[i - 1])
            }
            guard src[i + 1] & 0x80 == 0 else { return nil }
            let n = Int(src[i] & 0x7F) | Int(src[i + 1]) << 7
            i += 2
            return n
        }
        while i < src.count {
            let first = i == 0
            guard let zrun = uleb(), first || zrun != 0 else { throw decodeError }
            d += zrun
            guard d <= GuestRAM.pageSize, let run = uleb(), run != 0 else { throw decodeError }
            guard d + run <= GuestRAM.pageSize, i + run <= src.count else { throw decodeError }
            src.withUnsafeBytes { raw in
                if let from = raw.baseAddress { (host + d).copyMemory(from: from + i, byteCount: run) }
            }
            d += run
            i += run
        }
    }
}

func hex<T: BinaryInteger>(_ v: T) -> String { String(v, radix: 16) }
