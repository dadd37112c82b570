public import Glibc

/// A pthread running one closure. The machine's, the migration's and the monitor's long-lived threads are plain
/// pthreads: they block in system calls, which Swift's cooperative pool must not do.
public enum PlatformThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread and returns it for pthread_join, or the error number when it could not start.
    public static func start(_ body: @escaping @Sendable () -> Void) -> Result<pthread_t, PlatformThreadError> {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return .failure(PlatformThreadError(code: result))
        }
        return .success(thread)
    }

    /// Starts `body` on a thread nobody joins.
    @discardableResult
    public static func detach(_ body: @escaping @Sendable () -> Void) -> Result<Void, PlatformThreadError> {
        start(body).map { pthread_detach($0) }
    }
}

/// pthread_create's failure, with its error number.
public struct PlatformThreadError: Error, CustomStringConvertible {
    public let code: Int32
    public var description: String { "cannot start a thread: \(errnoText(code))" }
}
