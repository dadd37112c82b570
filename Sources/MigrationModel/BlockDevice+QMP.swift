public import QObject

extension BlockDevice {
    /// query-block's entry for the drive, member for member in QEMU 7.2's order for a raw virtio disk (a fixed
    /// disk: not removable, so no tray, as `info block` shows it).
    public func queryBlockEntry(index: Int) -> QValue {
        let image: QValue = [
            "virtual-size": .int(virtualSize), "filename": .string(path), "format": .string(format),
            "actual-size": .int(actualSize), "dirty-flag": false,
        ]
        let inserted: QValue = [
            "iops_rd": 0, "detect_zeroes": "off", "image": image, "iops_wr": 0, "ro": .bool(readOnly),
            "node-name": .string(nodeName), "backing_file_depth": 0, "drv": .string(format), "iops": 0, "bps_wr": 0,
            "write_threshold": 0, "encrypted": false, "bps": 0, "bps_rd": 0,
            "cache": ["no-flush": false, "direct": false, "writeback": .bool(cacheMode == "writeback")],
            "file": .string(path),
        ]
        return [
            "io-status": "ok", "device": .string(id), "locked": false, "removable": false, "inserted": inserted,
            "qdev": .string("/machine/peripheral-anon/device[\(index)]/virtio-backend"), "type": "unknown",
        ]
    }
}
