import Glibc
public import SystemPackage

/// The one place a listening stream socket is set up, for the monitor socket, the QMP server and an incoming
/// migration alike, as QEMU's unix_listen_saddr and inet_listen_saddr. A failure names its step, for each caller
/// to word as its QEMU counterpart does.
public enum Listener {
    public enum Step: Sendable, Equatable {
        /// The path does not fit a unix socket address (ENAMETOOLONG).
        case pathTooLong
        case socket
        /// A stale socket file at the path could not be removed.
        case unlink
        case bind
        case listen
        /// Every address was in use (EADDRINUSE).
        case noFreeAddress
    }

    public struct Failure: Error, Sendable, Equatable {
        public let step: Step
        public let errno: Errno

        public init(_ step: Step, _ errno: Errno) {
            self.step = step
            self.errno = errno
        }

        /// The calling thread's errno now.
        init(_ step: Step) { self.init(step, Errno(rawValue: Glibc.errno)) }
    }

    /// A unix socket listening at `path`, a stale socket file there removed first. `ownerOnly`: the file is 0600
    /// whatever the umask, with no window in which anyone else could connect, since Linux creates it with the
    /// socket's mode masked by the umask and an fchmod before bind sets that (a umask change would race with the
    /// other threads that create files). A listen that fails removes the file again.
    public static func unix(path: String, backlog: Int32, ownerOnly: Bool = false) throws(Failure) -> Int32 {
        guard let address = SocketAddress.unix(path: path) else { throw Failure(.pathTooLong, .fileNameTooLong) }
        let fd = try socket(AF_UNIX)
        do throws(Failure) {
            if Glibc.unlink(path) < 0 && Glibc.errno != ENOENT { throw Failure(.unlink) }
            if ownerOnly { _ = fchmod(fd, 0o600) }
            if address.withSockaddr({ bind(fd, $0, $1) }) < 0 { throw Failure(.bind) }
            if Glibc.listen(fd, backlog) < 0 {
                let failure = Failure(.listen)
                Glibc.unlink(path)
                throw failure
            }
        } catch {
            Descriptor.close(fd)
            throw error
        }
        return fd
    }

    /// A tcp socket listening on the first of `addresses` that is free: one in use, or whose family or address this
    /// host lacks, moves on to the next. SO_REUSEADDR on; an IPv6 socket takes IPv4 connections too (IPV6_V6ONLY
    /// off), so `::` serves 127.0.0.1 and ::1 alike.
    public static func tcp(_ addresses: [SocketAddress], backlog: Int32) throws(Failure) -> Int32 {
        var last = Failure(.noFreeAddress, .addressInUse)
        for address in addresses {
            let fd: Int32
            do throws(Failure) { fd = try socket(address.family) } catch {
                last = error
                continue
            }
            var on: Int32 = 1
            var off: Int32 = 0
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if address.family == AF_INET6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            }
            let failure: Failure
            if address.withSockaddr({ bind(fd, $0, $1) }) < 0 {
                failure = Failure(.bind)
            } else if Glibc.listen(fd, backlog) < 0 {
                failure = Failure(.listen)
            } else {
                return fd
            }
            Descriptor.close(fd)
            switch (failure.step, failure.errno) {
            case (.bind, .addressInUse): continue
            case (.bind, .addressFamilyNotSupported), (.bind, .addressNotAvailable): last = failure
            default: throw failure
            }
        }
        throw last
    }

    private static func socket(_ family: Int32) throws(Failure) -> Int32 {
        do throws(SystemError) { return try Descriptor.socket(family: family) } catch {
            throw Failure(.socket, error.errno)
        }
    }
}
