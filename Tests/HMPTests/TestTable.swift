import HMP
import QObject

/// Rows copied from QEMU 7.2's table (args_type and params as in the binary), plus a row for each remaining letter.
enum TestTable {
    static let migrateDetails = [
        "-b for migration without shared storage with full copy of disk",
        "-i for migration without shared storage with incremental copy of disk"
            + " (base image shared between src and destination)",
        "-r to resume a paused migration",
    ]

    static let capabilities = ["xbzrle", "events", "postcopy-ram", "block"]

    static let table = CommandTable<String>([
        CommandDefinition("help|?", args: "name:S?", params: "[cmd]", help: "show the help", handler: "help"),
        CommandDefinition("quit|q", help: "quit the emulator", handler: "quit"),
        CommandDefinition("stop|s", help: "stop emulation", handler: "stop"),
        CommandDefinition(
            "migrate", args: "detach:-d,blk:-b,inc:-i,resume:-r,uri:s", params: "[-d] [-b] [-i] [-r] uri",
            help: "migrate to URI (using -d to not wait for completion)", details: migrateDetails, handler: "migrate"),
        CommandDefinition(
            "pmemsave", args: "val:l,size:i,filename:s", params: "addr size file",
            help: "save to disk physical memory dump starting at 'addr' of size 'size'", handler: "pmemsave"),
        CommandDefinition(
            "migrate_set_capability", args: "capability:s,state:b", params: "capability state",
            help: "Enable/Disable the usage of a capability for migration",
            completer: { index, _, _ in index == 0 ? capabilities : nil }, handler: "cap"),
        CommandDefinition(
            "migrate_set_parameter", args: "parameter:s,value:s", params: "parameter value",
            help: "Set the parameter for migration", handler: "param"),
        CommandDefinition(
            "block_resize", args: "device:B,size:o", params: "device size", help: "resize a block image",
            handler: "block_resize"),
        CommandDefinition(
            "logfile", args: "filename:F", params: "filename", help: "output logs to 'filename'", handler: "logfile"),
        CommandDefinition(
            "balloon", args: "value:M", params: "target", help: "request VM to change its memory allocation (in MB)",
            handler: "balloon"),
        CommandDefinition("cpu", args: "index:i", params: "index", help: "set the default CPU", handler: "cpu"),
        CommandDefinition(
            "screendump", args: "filename:F,format:-fs,device:s?,head:i?",
            params: "filename [-f format] [device [head]]", help: "save screen as image 'filename'",
            handler: "screendump"),
        CommandDefinition(
            "change", args: "device:B,force:-f,target:F,arg:s?,read-only-mode:s?",
            params: "device [-f] filename [format [read-only-mode]]", help: "change a removable medium",
            handler: "change"),
        CommandDefinition(
            "device_add", args: "device:O", params: "driver[,prop=value][,...]", help: "add device",
            handler: "device_add"),
        CommandDefinition(
            "print|p", args: "fmt:/,val:l", params: "/fmt expr", help: "print expression value", handler: "print"),
        CommandDefinition("i", args: "fmt:/,addr:i,index:i.", params: "/fmt addr", help: "I/O port read", handler: "i"),
        CommandDefinition(
            "sleep", args: "time:T,again:T?", params: "time", help: "a row for the T letter", handler: "sleep"),
        CommandDefinition(
            "savevm", args: "name:s?", params: "tag", help: "save a VM snapshot",
            completer: { _, _, _ in ["snap1", "snap2", "other"] }, handler: "savevm"),
        CommandDefinition("set_flag", args: "flag:b?", params: "[on|off]", help: "an optional b", handler: "set_flag"),
        CommandDefinition("help_only", help: "a row without a handler", handler: nil),
        CommandDefinition(
            "info", args: "item:s?", params: "[subcommand]", help: "show various information about the system state",
            subcommands: [
                CommandDefinition("status", help: "show the current VM status (running|paused)", handler: "info status"),
                CommandDefinition("migrate", help: "show migration status", handler: "info migrate"),
                CommandDefinition(
                    "block", args: "nodes:-n,verbose:-v,device:B?", params: "[-n] [-v] [device]",
                    help: "show info of one block device or all block devices", handler: "info block"),
            ],
            handler: "info"),
    ])

    /// Parses a line that must parse.
    static func parsed(_ line: String) throws -> ParsedCommand<String> {
        guard let parsed = try table.parse(line) else { throw Blank() }
        return parsed
    }

    /// The arguments of a line that must parse.
    static func args(_ line: String) throws -> QDict { try parsed(line).arguments }

    /// The error a line must fail with.
    static func failure(_ line: String) -> HMPError? {
        do {
            _ = try table.parse(line)
            return nil
        } catch {
            return error
        }
    }

    struct Blank: Error {}
}

struct FakeSource: CompletionSource {
    var blockDevices: [String] { ["ide0-hd0", "ide1-cd0", "floppy0"] }

    func files(matching prefix: String) -> [String] {
        ["disk.img", "dir/", "data.qcow2", "other.txt"].filter { $0.hasPrefix(prefix) }
    }
}
