import ArgumentParser
import Glibc
import Machine
import Monitor
import Platform

/// Bad start-up input ends here: one line on stderr, exit status 1, before anything is created.
func fail(_ message: String) -> Never {
    try? Descriptor.writeAll(2, "hmp: \(message)\n")
    exit(1)
}

/// `body`'s value; its error, if any, fails start-up in that error's own words.
func orFail<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { fail("\(error)") }
}

let options: Options
do {
    options = try Options.parse()
} catch {
    if Options.exitCode(for: error) == .success {
        print(Options.fullMessage(for: error))
        exit(0)
    }
    var message = Options.message(for: error)
    if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
    if let first = message.first { message = first.lowercased() + message.dropFirst() }
    fail("\(message) (hmp --help lists the options)")
}

if options.printManCommands {
    print(MonitorApplication.manPageCommands(), terminator: "")
    exit(0)
}

if options.destination != nil && options.connect == nil {
    fail("--destination names the destination QEMU of a --connect QEMU: give --connect too")
}

if let address = options.connect {
    if let first = options.machineOptionsGiven.first {
        fail("\(first) is an option of the built-in machine; with --connect, the QEMU at \(address) has its own")
    }
    let endpoints = orFail { try options.monitorEndpoints() }
    let application = orFail {
        try MonitorApplication(connectingTo: address, destination: options.destination, endpoints: endpoints)
    }
    exit(application.run())
}

let configuration = orFail { try options.machineConfiguration() }
let endpoints = orFail { try options.monitorEndpoints() }

for device in options.devices where device.split(separator: ",").first != "nomigrate" {
    fail("-device \(device): unknown device; the built-in machine has only 'nomigrate'")
}

let machine = orFail { try Machine(configuration: configuration) }
for _ in options.devices {
    // QEMU's text for a device whose state cannot migrate (qemu_savevm_state_blocked).
    machine.addMigrationBlocker("State blocked by non-migratable device 'nomigrate'")
}
let application = MonitorApplication(machine: machine, endpoints: endpoints)
application.demoDestination = options.demoDestination
exit(application.run())
