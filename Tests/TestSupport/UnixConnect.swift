public import Foundation

/// Connects to the unix socket at `path`, retrying every 20 ms until `timeout` (hmp may still be creating it).
public func connectUnix(path: String, timeout: TimeInterval) throws -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if ok == 0 { return fd }
        close(fd)
        guard Date() < deadline else { throw POSIXError(.ECONNREFUSED) }
        usleep(20_000)
    }
}
