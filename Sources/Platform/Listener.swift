import Glibc
public import SystemPackage

/// The one place a listening stream socket is set up, for the monitor socket, the QMP server and an incoming
/// migration alike, as QEMU's unix_listen_saddr and inet_listen_saddr do it. A failure names the step, so that
/// each caller words it as its QEMU counterpart does.
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

        public init(step: Step, errno: Errno) {
            self.step = step
            self.errno = errno
        }
    }

    /// A unix socket listening at `path`, a stale socket file there removed first. `ownerOnly` makes the socket
    /// file 0600 whatever the umask, with no window in which anyone else could connect: Linux creates it with the
    /// socket inode's mode masked by the umask, so an fchmod before bind sets it (changing the umask instead would
    /// race with the other threads that create files). A listen that fails removes the file again.
    public static func unix(path: String, backlog: Int32, ownerOnly: Bool = false) throws(Failure) -> Int32 {
        guard let address = SocketAddress.unix(path: path) else {
            throw Failure(step: .pathTooLong, errno: .fileNameTooLong)
        }
        let fd = try socket(family: AF_UNIX)
        do throws(Failure) {
            if Glibc.unlink(path) < 0 && Glibc.errno != ENOENT { throw failure(.unlink) }
            if ownerOnly { _ = fchmod(fd, 0o600) }
            if address.withSockaddr({ bind(fd, $0, $1) }) < 0 { throw failure(.bind) }
            if Glibc.listen(fd, backlog) < 0 {
                let listenFailure = failure(.listen)
                Glibc.unlink(path)
                throw listenFailure
            }
        } catch {
            Descriptor.close(fd)
            throw error
        }
        return fd
    }

    /// A tcp socket listening on the first of `addresses` that is free, as inet_listen_saddr: one in use moves on
    /// to the next, as does one whose family or address this host lacks; SO_REUSEADDR on, and an IPv6 socket
    /// takes IPv4 connections too (IPV6_V6ONLY off), so `::` serves 127.0.0.1 and ::1 alike.
    public static func tcp(_ addresses: [SocketAddress], backlog: Int32) throws(Failure) -> Int32 {
        var last = Failure(step: .noFreeAddress, errno: .addressInUse)
        for address in addresses {
            let fd: Int32
            do throws(Failure) { fd = try socket(family: address.family) } catch {
                last = error
                continue
            }
            var on: Int32 = 1
            var off: Int32 = 0
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if address.family == AF_INET6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            }
            if address.withSockaddr({ bind(fd, $0, $1) }) < 0 {
                let bindFailure = failure(.bind)
                Descriptor.close(fd)
                switch bindFailure.errno {
                case .addressInUse: continue
                case .addressFamilyNotSupported, .addressNotAvailable:
                    last = bindFailure
                    continue
                default: throw bindFailure
                }
            }
            if Glibc.listen(fd, backlog) < 0 {
                let listenFailure = failure(.listen)
                Descriptor.close(fd)
                throw listenFailure
            }
            return fd
        }
        throw last
    }

    private static func socket(family: Int32) throws(Failure) -> Int32 {
        do throws(SystemError) {
            return try Descriptor.socket(family: family)
        } catch {
            throw Failure(step: .socket, errno: error.errno)
        }
    }

    /// The calling thread's errno now, as the failure of `step`.
    private static func failure(_ step: Step) -> Failure {
        Failure(step: step, errno: Errno(rawValue: Glibc.errno))
    }
}
