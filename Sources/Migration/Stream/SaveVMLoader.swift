public import Machine

/// The incoming side, qemu_loadvm_state for a `-M none` destination: header and configuration checks, then START,
/// PART, END and FULL sections until EOF, then the VMDESCRIPTION read and dropped. It takes what QEMU 7.2 to 10.0
/// send by default from `-M none` (10.0 adds a SWITCHOVER_START command and a longer vmdesc). Errors carry QEMU's
/// texts; the lines QEMU prints around the cause are `context`. RAM pages go straight into guest RAM and chunks into the
/// drive files. The guest is never started here: the caller decides from the returned run state.
public final class SaveVMLoader {
    private let machine: Machine
    private let statistics = MigrationStreamStatistics()

    public init(machine: Machine) {
        self.machine = machine
    }

    /// Loads a whole stream; returns the globalstate run state name, nil when the stream had none.
    public func load(_ r: QEMUFileReader, progress: (String) -> Void) throws(MigrationError) -> String? {
        let ram = RAMSaveHandler(ram: machine.ram, statistics: statistics)
        defer { ram.endLoad() }
        // QEMU registers `block` on every machine; an unknown drive fails at its first record.
        let block = BlockSaveHandler(drives: machine.drives, mode: .none, statistics: statistics)
        defer { block.abandonLoad() }
        let globalState = GlobalStateHandler()
        let handlers: [any SaveVMHandler] = [TimerHandler(), block, ram, globalState]
        /// Section id → handler, and each handler's id from its last START/FULL (what footers are checked against).
        var active: [UInt32: any SaveVMHandler] = [:]
        var loadSectionID: [ObjectIdentifier: UInt32] = [:]

        guard try r.get32() == StreamHeader.magic else { throw MigrationError("Not a migration stream") }
        let version = try r.get32()
        if version == StreamHeader.obsoleteVersion {
            throw MigrationError("SaveVM v2 format is obsolete and don't work anymore")
        }
        guard version == StreamHeader.version else { throw MigrationError("Unsupported migration stream version") }
        guard try r.get8() == SectionType.configuration else { throw MigrationError("Configuration section missing") }
        var type = try loadConfiguration(r)

        while true {
            switch type {
            case SectionType.start, SectionType.full:
                let sectionID = try r.get32()
                let idBytes: [UInt8]
                let instance: UInt32
                let sectionVersion: UInt32
                do {
                    idBytes = try r.getLengthPrefixedBytes()
                } catch {
                    throw error.adding(context: "Unable to read ID string for section \(sectionID)")
                }
                do {
                    instance = try r.get32()
                    sectionVersion = try r.get32()
                } catch {
                    throw error.adding(context: "qemu_loadvm_section_start_full: Failed to read instance/version ID: -5")
                }
                let idstr = cString(idBytes)
                guard let handler = handlers.first(where: { $0.idstr == idstr && $0.instanceID == instance }) else {
                    throw MigrationError(
                        "Unknown savevm section or instance '\(idstr)' \(instance). Make sure that your current VM "
                            + "setup matches your saved VM setup, including any hotplugged devices")
                }
                guard sectionVersion <= handler.versionID else {
                    throw MigrationError(
                        "savevm: unsupported version \(Int32(bitPattern: sectionVersion)) for '\(idstr)' v\(handler.versionID)")
                }
                active[sectionID] = handler
                loadSectionID[ObjectIdentifier(handler)] = sectionID
                do {
                    try handler.load(r, version: sectionVersion, progress: progress)
                } catch {
                    throw error.adding(
                        context: "error while loading state for instance 0x\(hex(instance)) of device '\(idstr)'")
                }
                try checkFooter(r, handler, expected: sectionID)
            case SectionType.part, SectionType.end:
                let sectionID = try r.get32()
                guard let handler = active[sectionID] else {
                    throw MigrationError("Unknown savevm section \(Int32(bitPattern: sectionID))")
                }
                do {
                    try handler.load(r, version: handler.versionID, progress: progress)
                } catch {
                    throw error.adding(
                        context: "error while loading state section id \(Int32(bitPattern: sectionID))(\(handler.idstr))")
                }
                try checkFooter(r, handler, expected: loadSectionID[ObjectIdentifier(handler)] ?? sectionID)
            case SectionType.command:
                try loadCommand(r)
            case SectionType.eof:
                // Chunks are written behind the stream: the load is done once they are in their files.
                do {
                    try block.finishLoad()
                } catch {
                    throw error.adding(context: "error while loading state for instance 0x0 of device 'block'")
                }
                skipVMDescription(r)
                return globalState.runState
            default:
                throw MigrationError("Unknown savevm section type \(type)")
            }
            type = try r.get8()
        }
    }

    /// The machine type (a prefix match over the received length, as strncmp) and the optional configuration
    /// subsections. Returns the type byte of the first record after it.
    private func loadConfiguration(_ r: QEMUFileReader) throws(MigrationError) -> UInt8 {
        let length = try r.get32()
        let local = Array(StreamHeader.machineType.utf8)
        // Keep what a message can show; the rest of an absurd name is only skipped.
        let kept = Int(min(length, 4096))
        let received = try r.getBytes(kept)
        try r.skip(UInt64(length) - UInt64(kept))
        var matches = true
        for i in 0..<Int(length) {
            let a: UInt8 = i < received.count ? received[i] : 0
            let b: UInt8 = i < local.count ? local[i] : 0
            if a != b {
                matches = false
                break
            }
            if a == 0 { break }
        }
        guard matches else {
            throw MigrationError(
                "Machine type received is '\(cString(received))' and local is '\(StreamHeader.machineType)'")
        }
        var type = try r.get8()
        while type == SectionType.subsection {
            let name = cString(try r.getLengthPrefixedBytes())
            guard name.hasPrefix("configuration") else { throw MigrationError("Unknown savevm section type 5") }
            let version = try r.get32()
            _ = version
            switch name {
            case "configuration/capabilities":
                let count = try r.get32()
                for _ in 0..<count {
                    let capability = cString(try r.getLengthPrefixedBytes())
                    if capability == "x-ignore-shared" {
                        throw MigrationError("Capability x-ignore-shared is off, but received capability is on")
                    }
                }
            case "configuration/uuid":
                // QEMU only warns when the destination has no UUID to compare.
                try r.skip(16)
            default:
                throw MigrationError("No such file or directory")
            }
            type = try r.get8()
        }
        return type
    }

    /// One MIG_CMD record: be16 command, be16 length, then its arguments. Only SWITCHOVER_START is acted on.
    private func loadCommand(_ r: QEMUFileReader) throws(MigrationError) {
        let command = try r.get16()
        let length = try r.get16()
        guard let known = MigrationCommand(rawValue: command) else {
            throw MigrationError(
                "MIG_CMD 0x\(hex(command)) unknown (len 0x\(hex(length))): the source is newer than QEMU 10.0 or the "
                    + "stream is corrupt; hmp knows commands 0x1 to 0xb")
        }
        if let expected = known.length, expected != length {
            throw MigrationError(
                "\(known.name) received with bad length - expecting \(expected), received \(length)")
        }
        switch known {
        case .switchoverStart:
            // QEMU 10 sends it by default (send-switchover-start) where its guest stops; only devices with a
            // switchover hook (VFIO) act on it, and this machine has none.
            return
        default:
            // Postcopy, COLO and the return path need replies this precopy-only destination cannot give.
            throw MigrationError(
                "migration command \(known.name) (0x\(hex(command))) is not supported: hmp takes precopy streams only; "
                    + "turn off postcopy-ram, return-path and x-colo on the source")
        }
    }

    /// check_section_footer: `7e` and the id of the handler's last START/FULL.
    private func checkFooter(_ r: QEMUFileReader, _ handler: any SaveVMHandler, expected: UInt32) throws(MigrationError) {
        let mark: UInt8
        do { mark = try r.get8() } catch {
            throw error.adding(context: "check_section_footer: Read section footer failed: -5")
        }
        guard mark == SectionType.footer else { throw MigrationError("Missing section footer for \(handler.idstr)") }
        let id = try r.get32()
        guard id == expected else {
            throw MigrationError(
                "Mismatched section id in footer for \(handler.idstr) - read 0x\(hex(id)) expected 0x\(hex(expected))")
        }
    }

    /// After EOF: `06`, be32 length, JSON, read and dropped; absent, short or anything else is not an error.
    private func skipVMDescription(_ r: QEMUFileReader) {
        guard let type = try? r.get8(), type == SectionType.vmDescription, let length = try? r.get32() else { return }
        try? r.skip(UInt64(length))
    }
}
