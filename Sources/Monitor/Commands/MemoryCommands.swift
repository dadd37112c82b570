/// Reading guest memory out to files.
enum MemoryCommands {
    static let pmemsave: CommandHandler = { invocation throws(CommandError) in
        let arguments = invocation.arguments
        let address = UInt64(bitPattern: arguments.int("val") ?? 0)
        let size = UInt64(bitPattern: arguments.int("size") ?? 0)
        let path = arguments.string("filename") ?? ""
        return try invocation.run(invocation.backend.pmemsave(address: address, size: size, path: path))
    }
}
