import Glibc
import HMP

/// Completion's view of the world: the machine's drives and the file system.
struct MachineCompletionSource: CompletionSource {
    let backend: any MonitorBackend

    var blockDevices: [String] { backend.blockDevices.map(\.id) }
    var otherCommands: [String] { backend.otherCommands.commands }
    var otherInfoItems: [String] { backend.otherCommands.infoItems }
    var migrationParameters: [String] { backend.migrationParameterNames }
    var migrationCapabilities: [String] { backend.migrationCapabilityNames }

    func files(matching prefix: String) -> [String] {
        let slash = prefix.lastIndex(of: "/")
        let directory = slash.map { String(prefix[...$0]) } ?? ""
        let namePrefix = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
        guard let dir = opendir(directory.isEmpty ? "." : directory) else { return [] }
        defer { closedir(dir) }
        var matches: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name != ".", name != "..", name.hasPrefix(namePrefix) else { continue }
            // Hidden files only when asked for, as shells do.
            if name.hasPrefix("."), !namePrefix.hasPrefix(".") { continue }
            var info = stat()
            let path = directory + name
            let isDirectory = stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            matches.append(path + (isDirectory ? "/" : ""))
        }
        return matches.sorted()
    }
}
