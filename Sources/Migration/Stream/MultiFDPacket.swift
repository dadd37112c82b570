import Machine

/// QEMU 7.2's multifd wire format (migration/multifd.c), checked against its bytes: each extra channel opens with a
/// 64-byte MultiFDInit_t, then carries packets of a fixed 1344-byte header (MultiFDPacket_t with room for 128 page
/// offsets) followed by the pages it lists. A packet with the SYNC flag ends the channel's share of a RAM section:
/// the main stream's EOS waits for one from every channel. Integers are big-endian.
enum MultiFDPacket {
    static let magic: UInt32 = 0x1122_3344
    static let version: UInt32 = 1
    static let initSize = 64
    /// MULTIFD_PACKET_SIZE (512 KiB) in 4 KiB pages.
    static let pagesPerPacket = 128
    static let blockNameOffset = 64
    static let offsetsOffset = 320
    static let size = offsetsOffset + 8 * pagesPerPacket
    static let syncFlag: UInt32 = 1
    /// The compression method's bits; only 0 (none) is spoken here.
    static let compressionMask: UInt32 = 7 << 1
    /// hmp has no -uuid: its uuid is the nil one, as QEMU's without -uuid.
    static let uuid = [UInt8](repeating: 0, count: 16)

    /// Magic, version, the uuid, the channel's id; the reserved rest zero.
    static func initBytes(channel: UInt8) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: initSize)
        store(magic, at: 0, in: &bytes)
        store(version, at: 4, in: &bytes)
        bytes.replaceSubrange(8..<24, with: uuid)
        bytes[24] = channel
        return bytes
    }

    /// multifd_recv_initial_packet: the channel's id, with QEMU's words for what is wrong.
    static func channel(fromInit bytes: [UInt8], channels: Int) throws(MigrationError) -> Int {
        let received = load(UInt32.self, at: 0, in: bytes)
        guard received == magic else {
            throw MigrationError("multifd: received packet magic \(hex(received)) expected \(hex(magic))")
        }
        let receivedVersion = load(UInt32.self, at: 4, in: bytes)
        guard receivedVersion == version else {
            throw MigrationError("multifd: received packet version \(receivedVersion) expected \(version)")
        }
        guard Array(bytes[8..<24]) == uuid else {
            throw MigrationError(
                "multifd: received uuid '\(uuidText(bytes[8..<24]))' and expected uuid '\(uuidText(uuid[...]))' for "
                    + "channel \(Int8(bitPattern: bytes[24]))")
        }
        let id = Int(bytes[24])
        guard id < channels else {
            throw MigrationError("multifd: received channel id \(id) but only \(channels) channels are set up")
        }
        return id
    }

    /// Writes a packet's header into `packet` (`size` bytes): `offsets` are the pages that follow it, each a page's
    /// offset in the RAM block `blockName`.
    static func fill(
        _ packet: UnsafeMutableRawPointer, flags: UInt32, offsets: UnsafeBufferPointer<UInt64>, number: UInt64
    ) {
        packet.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        packet.storeBytes(of: magic.bigEndian, toByteOffset: 0, as: UInt32.self)
        packet.storeBytes(of: version.bigEndian, toByteOffset: 4, as: UInt32.self)
        packet.storeBytes(of: flags.bigEndian, toByteOffset: 8, as: UInt32.self)
        packet.storeBytes(of: UInt32(pagesPerPacket).bigEndian, toByteOffset: 12, as: UInt32.self)
        packet.storeBytes(of: UInt32(offsets.count).bigEndian, toByteOffset: 16, as: UInt32.self)
        let data = UInt32(offsets.count * GuestRAM.pageSize)
        packet.storeBytes(of: data.bigEndian, toByteOffset: 20, as: UInt32.self)
        packet.storeBytes(of: number.bigEndian, toByteOffset: 24, as: UInt64.self)
        if !offsets.isEmpty {
            for (i, byte) in RAMSaveHandler.blockName.utf8.enumerated() {
                packet.storeBytes(of: byte, toByteOffset: blockNameOffset + i, as: UInt8.self)
            }
        }
        for (i, offset) in offsets.enumerated() {
            packet.storeBytes(of: offset.bigEndian, toByteOffset: offsetsOffset + 8 * i, as: UInt64.self)
        }
    }

    /// A received packet's meaning: its flags and how many pages follow, their offsets checked against RAM.
    struct Header {
        var flags: UInt32
        var pageCount: Int
    }

    /// multifd_recv_unfill_packet: checks the header in `packet` (`size` bytes) and leaves each page's offset in
    /// `offsets`. A SYNC packet may repeat the last data packet's size and block name; with no pages they mean
    /// nothing and are not checked.
    static func parse(
        _ packet: UnsafeRawPointer, ramSize: UInt64, offsets: UnsafeMutablePointer<UInt64>, channel: Int
    ) throws(MigrationError) -> Header {
        let received = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard received == magic else {
            throw MigrationError("multifd: received packet magic \(hex(received)) and expected magic \(hex(magic))")
        }
        let receivedVersion = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard receivedVersion == version else {
            throw MigrationError(
                "multifd: received packet version \(receivedVersion) and expected version \(version)")
        }
        let flags = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let compression = flags & compressionMask
        guard compression == 0 else {
            throw MigrationError("multifd \(channel): flags received \(hex(compression)) flags expected 0")
        }
        let allocated = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        let count = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        // QEMU's header has room for its own 128 offsets whatever pages_alloc says, so a sender's larger packets
        // could never be read whole: they are refused rather than read past the header.
        guard count <= allocated, count <= UInt32(pagesPerPacket) else {
            throw MigrationError(
                "multifd: received packet with \(count) pages and expected maximum pages are "
                    + "\(min(allocated, UInt32(pagesPerPacket)))")
        }
        guard count > 0 else { return Header(flags: flags, pageCount: 0) }
        var name: [UInt8] = []
        for i in 0..<255 {
            let byte = packet.load(fromByteOffset: blockNameOffset + i, as: UInt8.self)
            if byte == 0 { break }
            name.append(byte)
        }
        guard String(decoding: name, as: UTF8.self) == RAMSaveHandler.blockName else {
            throw MigrationError("multifd: unknown ram block \(String(decoding: name, as: UTF8.self))")
        }
        let last = ramSize - UInt64(GuestRAM.pageSize)
        for i in 0..<Int(count) {
            let offset = UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: offsetsOffset + 8 * i, as: UInt64.self))
            // QEMU checks only the end; a page must also start on a page so that the populated bitmap tells true.
            guard offset <= last, offset & UInt64(GuestRAM.pageSize - 1) == 0 else {
                throw MigrationError("multifd: offset too long \(offset) (max \(hex(ramSize)))")
            }
            offsets[i] = offset
        }
        return Header(flags: flags, pageCount: Int(count))
    }

    private static func store(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.replaceSubrange(offset..<offset + 4, with: $0) }
    }

    private static func load(_: UInt32.Type, at offset: Int, in bytes: [UInt8]) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func uuidText(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = bytes.map { String(format2: $0) }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { digits[$0].joined() }.joined(separator: "-")
    }
}

private extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let text = String(byte, radix: 16)
        self = byte < 16 ? "0" + text : text
    }
}
