public import Machine
public import MigrationModel

/// The outgoing stream as QEMU 7.2 `-M none` sends it (qemu_savevm_state_begin / iterate / complete): what the
/// migration thread drives. Section ids follow QEMU's registration order (timer 0, block 1, ram 2, globalstate 4;
/// id 3 is QEMU's inactive dirty-bitmap handler), so streams compare byte for byte with QEMU's.
public final class SaveVMWriter {
    public let statistics = MigrationStreamStatistics()
    public let ram: RAMSaveHandler
    public let block: BlockSaveHandler?
    private let timer = TimerHandler()
    private let globalState = GlobalStateHandler()
    /// Active iterative handlers with their section ids, in QEMU's order: block, then ram.
    private let iterative: [(id: UInt32, handler: any SaveVMHandler)]

    public init(machine: Machine, blockMode: BlockMigrationMode) {
        ram = RAMSaveHandler(ram: machine.ram, statistics: statistics)
        var list: [(id: UInt32, handler: any SaveVMHandler)] = []
        if blockMode != .none {
            let block = BlockSaveHandler(drives: machine.drives, mode: blockMode, statistics: statistics)
            self.block = block
            list.append((1, block))
        } else {
            block = nil
        }
        list.append((2, ram))
        iterative = list
    }

    static let timerSectionID: UInt32 = 0
    static let globalStateSectionID: UInt32 = 4

    /// Header, CONFIGURATION `none`, and one START per active iterative handler.
    public func writeSetup(_ f: QEMUFileWriter) throws(MigrationError) {
        try f.put32(StreamHeader.magic)
        try f.put32(StreamHeader.version)
        try f.put8(SectionType.configuration)
        try f.put32(UInt32(StreamHeader.machineType.utf8.count))
        try f.putBytes(Array(StreamHeader.machineType.utf8))
        for (id, handler) in iterative {
            try sectionHeader(f, SectionType.start, id, handler)
            try handler.setup(f)
            try footer(f, id)
        }
    }

    /// migration_bitmap_sync for RAM and the disks: dirty bits move into each handler's to-send set, whose
    /// running counts `pendingRAMBytes` and `pendingDiskBytes` read without a scan.
    public func syncDirty() {
        ram.syncDirty()
        if let block {
            block.syncDirty()
            statistics.diskRemaining.store(block.pendingBytes, ordering: .relaxed)
        }
    }

    public var pendingRAMBytes: UInt64 { ram.pendingBytes }
    public var pendingDiskBytes: UInt64 { block?.pendingBytes ?? 0 }

    /// PART rounds (each active handler in order, each ending with EOS and a footer) until about `budget` bytes went
    /// out or nothing is pending. True when nothing iterative is pending.
    ///
    /// Each handler gets an even share of what is left of the round's budget (block half, then ram the rest), so
    /// that RAM and disks go out side by side, as QEMU's rounds under its rate limit do, instead of the whole disk
    /// first: the destination then materialises guest RAM while the disk's chunks, which cost it little, arrive.
    public func iterate(_ f: QEMUFileWriter, budget: Int) throws(MigrationError) -> Bool {
        let before = f.bytesWritten
        while true {
            var allDone = true
            for (index, (id, handler)) in iterative.enumerated() {
                let left = budget - Int(clamping: f.bytesWritten - before)
                let share = left > 0 ? max(left / (iterative.count - index), 1) : left
                try sectionHeader(f, SectionType.part, id, nil)
                let done = try handler.iterate(f, budget: share)
                try footer(f, id)
                allDone = allDone && done
            }
            if allDone { return true }
            if Int(clamping: f.bytesWritten - before) >= budget { return false }
        }
    }

    /// With the guest stopped: END sections with everything still dirty, FULL timer and globalstate, EOF, the
    /// VMDESCRIPTION, and a flush.
    public func complete(_ f: QEMUFileWriter, runState: String) throws(MigrationError) {
        for (id, handler) in iterative {
            try sectionHeader(f, SectionType.end, id, nil)
            try handler.complete(f)
            try footer(f, id)
        }
        globalState.runState = runState
        for (id, handler) in [(SaveVMWriter.timerSectionID, timer as any SaveVMHandler),
                              (SaveVMWriter.globalStateSectionID, globalState)] {
            try sectionHeader(f, SectionType.full, id, handler)
            try handler.complete(f)
            try footer(f, id)
        }
        try f.put8(SectionType.eof)
        let json = Array(SaveVMWriter.vmDescription.utf8)
        try f.put8(SectionType.vmDescription)
        try f.put32(UInt32(json.count))
        try f.putBytes(json)
        try f.flush()
    }

    /// START/FULL carry idstr, instance and version; PART/END only the id.
    private func sectionHeader(
        _ f: QEMUFileWriter, _ type: UInt8, _ id: UInt32, _ handler: (any SaveVMHandler)?
    ) throws(MigrationError) {
        try f.put8(type)
        try f.put32(id)
        if let handler {
            try f.putLengthPrefixedString(handler.idstr)
            try f.put32(handler.instanceID)
            try f.put32(handler.versionID)
        }
    }

    private func footer(_ f: QEMUFileWriter, _ id: UInt32) throws(MigrationError) {
        try f.put8(SectionType.footer)
        try f.put32(id)
    }

    /// QEMU's vmdesc for the FULL sections of `-M none`, as its JSON writer spells it.
    static let vmDescription = """
        {"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2, \
        "fields": [{"name": "cpu_ticks_offset", "type": "int64", "size": 8}, \
        {"name": "unused", "type": "unused_buffer", "size": 8}, \
        {"name": "cpu_clock_offset", "type": "int64", "size": 8}]}, \
        {"name": "globalstate", "instance_id": 0, "vmsd_name": "globalstate", "version": 1, \
        "fields": [{"name": "size", "type": "uint32", "size": 4}, {"name": "runstate", "type": "buffer", "size": 100}]}]}
        """
}
