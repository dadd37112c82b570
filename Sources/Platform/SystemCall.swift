public import SystemPackage
public import Glibc

/// The one place that retries interrupted calls: runs `call` (which returns -1 and sets errno on failure) until it
/// is not interrupted, and turns a failure into a typed `Errno`.
///
/// Signal handlers are installed without SA_RESTART, so that a blocked `poll` or `read` returns and its loop can
/// look at what arrived; every other call goes through here and carries on where it was.
@inlinable
public func retryingInterrupts<T: FixedWidthInteger>(_ call: () -> T) -> Result<T, Errno> {
    while true {
        let result = call()
        if result != -1 { return .success(result) }
        let code = Glibc.errno
        if code != EINTR { return .failure(Errno(rawValue: code)) }
    }
}

/// `retryingInterrupts`, throwing a `SystemError` that names `operation` on failure.
@inlinable
public func systemCall<T: FixedWidthInteger>(
    _ operation: @autoclosure () -> String, _ call: () -> T
) throws(SystemError) -> T {
    switch retryingInterrupts(call) {
    case .success(let value): return value
    case .failure(let errno): throw SystemError(operation(), errno: errno)
    }
}
