import HMP

/// The monitor's command table: one row per command, in the order `help` lists them. Adding a command is adding
/// a row here and its handler beside its kin in this folder; help, completion and the man page follow.
let hmpCommands = CommandTable<CommandHandler>([
    Command(
        "help|?", args: "name:S?", params: "[cmd]",
        help: "list the commands, or explain the command cmd",
        handler: MonitorCommands.help),
    Command(
        "info", args: "item:s?", params: "[subcommand]",
        help: "show facts about the machine and the monitor (help info lists them)",
        subcommands: infoCommands,
        handler: MonitorCommands.infoList),
    Command("quit|q", help: "stop the machine and leave hmp", handler: MonitorCommands.quit),
    Command("stop|s", help: "pause the guest", handler: RunStateCommands.stop),
    Command("cont|c", help: "let the guest run again", handler: RunStateCommands.cont),
    Command(
        "pmemsave", args: "val:l,size:i,filename:F", params: "addr size file",
        help: "write size bytes of guest-physical memory from addr into file",
        whenAttached: .qemuMonitor,
        handler: MemoryCommands.pmemsave),
    Command(
        "migrate", args: "detach:-d,blk:-b,inc:-i,resume:-r,uri:s", params: "[-d] [-b] [-i] [-r] uri",
        help: "move the machine to the hmp or QEMU listening at uri (-d: do not wait)",
        details: [
            "-b copies the disks whole, for a destination without shared storage",
            "-i copies only what the disks hold beyond the base image both sides share",
            "-r resumes a paused postcopy migration",
        ],
        completer: MigrationCommands.completeMigrate,
        handler: MigrationCommands.migrate),
    Command(
        "getfd", args: "fdname:s", params: "getfd name",
        help: "name the descriptor sent with this line (SCM_RIGHTS), for migrate fd:name",
        handler: MonitorCommands.getfd),
    Command(
        "closefd", args: "fdname:s", params: "closefd name",
        help: "close a descriptor that getfd named", handler: MonitorCommands.closefd),
    Command("migrate_cancel", help: "stop the running migration; the guest keeps running here",
            handler: MigrationCommands.cancel),
    Command(
        "migrate_incoming", args: "uri:s", params: "uri",
        help: "listen for the incoming migration on uri (after -incoming defer)",
        completer: MigrationCommands.completeMigrate,
        whenAttached: .qemuMonitor,
        handler: MigrationCommands.incoming),
    Command(
        "migrate_set_capability", args: "capability:s,state:b", params: "capability state",
        help: "turn a migration capability on or off (info migrate_capabilities lists them)",
        completer: MigrationCommands.completeCapability,
        whenAttached: .qemuMonitor,
        handler: MigrationCommands.setCapability),
    Command(
        "migrate_set_parameter", args: "parameter:s,value:s", params: "parameter value",
        help: "set a migration parameter (info migrate_parameters lists them)",
        completer: MigrationCommands.completeParameter,
        whenAttached: .qemuMonitor,
        handler: MigrationCommands.setParameter),
    Command(
        "migrate_continue", args: "state:s", params: "state",
        help: "let a migration paused in state go on (after pause-before-switchover)",
        completer: MigrationCommands.completeContinue,
        whenAttached: .qemuMonitor,
        handler: MigrationCommands.continueMigration),
    Command(
        "migrate_set_speed", args: "value:o", params: "value",
        help: "cap migration bandwidth in bytes per second (as max-bandwidth)",
        handler: MigrationCommands.setSpeed),
    Command(
        "migrate_set_downtime", args: "value:T", params: "value",
        help: "set the longest pause at the end of migration, in seconds",
        handler: MigrationCommands.setDowntime),
])

/// `info` items; those QEMU's own monitor answers when hmp is attached to one print exactly what that QEMU prints
/// (its version's layout and globals included).
let infoCommands: [Command] = [
    Command(
        "version", help: "show the version of hmp and of the QEMU it speaks for",
        whenAttached: .qemuMonitor, handler: InfoCommands.version),
    Command(
        "status", help: "show whether the guest is running or paused",
        whenAttached: .qemuMonitor, handler: InfoCommands.status),
    Command(
        "name", help: "show the machine's name, if it has one",
        whenAttached: .qemuMonitor, handler: InfoCommands.name),
    Command(
        "block", args: "device:B?", params: "[device]", help: "show the drives and their image files",
        whenAttached: .qemuMonitor, handler: InfoCommands.block),
    Command(
        "migrate", help: "show how the migration is going, or how it ended",
        whenAttached: .qemuMonitor, handler: InfoCommands.migrate),
    Command("history", help: "show the lines typed at this monitor", handler: InfoCommands.history),
    Command(
        "migrate_capabilities", help: "show each migration capability and whether it is on",
        whenAttached: .qemuMonitor, handler: InfoCommands.migrateCapabilities),
    Command(
        "migrate_parameters", help: "show the migration parameters and their values",
        whenAttached: .qemuMonitor, handler: InfoCommands.migrateParameters),
]
