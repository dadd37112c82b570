import Machine
import Testing

@Suite struct DriveOptionTests {
    @Test func fileOnlyGetsDefaults() throws {
        let d = try DriveConfiguration.parse("file=disk.img", index: 3)
        #expect(d == DriveConfiguration(path: "disk.img", id: "drive3", format: "raw", readOnly: false))
    }

    @Test func everyKey() throws {
        let d = try DriveConfiguration.parse("file=a.img,id=disk0,format=raw,readonly=on", index: 0)
        #expect(d == DriveConfiguration(path: "a.img", id: "disk0", format: "raw", readOnly: true))
        #expect(try DriveConfiguration.parse("readonly=off,file=b", index: 1).readOnly == false)
        #expect(try DriveConfiguration.parse("file=b,if=none", index: 1).path == "b")
    }

    @Test func doubledCommaIsLiteral() throws {
        let d = try DriveConfiguration.parse("file=my,,disk.img,id=x", index: 0)
        #expect(d.path == "my,disk.img")
        #expect(d.id == "x")
        #expect(try DriveConfiguration.parse("file=a,,,,b", index: 0).path == "a,,b")
    }

    @Test func errors() {
        #expect(throws: MachineError.unknownDriveOption(key: "cache")) {
            try DriveConfiguration.parse("file=a,cache=none", index: 0)
        }
        #expect(throws: MachineError.missingDriveFile(text: "id=x")) { try DriveConfiguration.parse("id=x", index: 0) }
        #expect(throws: MachineError.unsupportedDriveFormat(format: "qcow2")) {
            try DriveConfiguration.parse("file=a,format=qcow2", index: 0)
        }
        #expect(throws: MachineError.driveOptionWithoutValue(option: "snapshot")) {
            try DriveConfiguration.parse("file=a,snapshot", index: 0)
        }
        #expect(throws: MachineError.invalidDriveOptionValue(key: "readonly", value: "maybe", expected: "use 'on' or 'off'")) {
            try DriveConfiguration.parse("file=a,readonly=maybe", index: 0)
        }
    }

    @Test func messagesSayWhatToDo() {
        #expect(MachineError.unsupportedDriveFormat(format: "qcow2").description.contains("only raw is supported"))
        #expect(MachineError.unknownDriveOption(key: "cache").description.contains("'cache'"))
        #expect(MachineError.cannotOpenDrive(path: "x.img", errno: 2).description
            == "cannot open drive file 'x.img': No such file or directory")
        #expect(MachineError.memPathTooSmall(path: "f", fileSize: 1_048_576, ramSize: 134_217_728).description
            == "-mem-path file 'f' is 1048576 bytes, smaller than the RAM size 134217728 bytes: use a larger file or a smaller -m")
    }
}

@Suite struct SizeParsingTests {
    @Test func ramSize() throws {
        #expect(try MachineConfiguration.parseRAMSize("128") == 128 << 20)
        #expect(try MachineConfiguration.parseRAMSize("1G") == 1 << 30)
        #expect(try MachineConfiguration.parseRAMSize("512k") == 512 << 10)
        #expect(throws: MachineError.invalidRAMSize(text: "lots")) { try MachineConfiguration.parseRAMSize("lots") }
        #expect(throws: MachineError.invalidRAMSize(text: "0")) { try MachineConfiguration.parseRAMSize("0") }
        #expect(throws: MachineError.ramSizeOutOfRange(text: "17E")) { try MachineConfiguration.parseRAMSize("17E") }
    }

    @Test func workloadRates() throws {
        #expect(try WorkloadRates.parse("ram=64M,disk=4M") == WorkloadRates(ramBytesPerSecond: 64 << 20, diskBytesPerSecond: 4 << 20))
        #expect(try WorkloadRates.parse("disk=100") == WorkloadRates(ramBytesPerSecond: 0, diskBytesPerSecond: 100))
        #expect(throws: MachineError.self) { try WorkloadRates.parse("cpu=1") }
        #expect(throws: MachineError.self) { try WorkloadRates.parse("ram=fast") }
        #expect(throws: MachineError.self) { try WorkloadRates.parse("ram") }
    }
}
