import Glibc
import Platform
import Synchronization

/// The signals hmp acts on, recorded by async-signal-safe handlers and acted on by the thread that wakes.
final class SignalEvents: Sendable {
    struct Events: OptionSet, Sendable {
        let rawValue: UInt32
        static let interrupt = Events(rawValue: 1)
        static let terminate = Events(rawValue: 2)
        static let resize = Events(rawValue: 4)
    }

    /// Installs the handlers; SIGPIPE is ignored so that a client that goes away is a write error, not a death.
    init(wakeup: Wakeup) {
        signalWakeDescriptor = wakeup.writeDescriptor
        installHandler(SIGINT)
        installHandler(SIGTERM)
        installHandler(SIGHUP)
        installHandler(SIGWINCH)
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (Foundation's Process does); we must see them.
        var handled = sigset_t()
        sigemptyset(&handled)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&handled, number) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    /// The events since the last call.
    func take() -> Events {
        Events(rawValue: pendingSignalEvents.exchange(0, ordering: .sequentiallyConsistent))
    }

    private func installHandler(_ number: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            let event: SignalEvents.Events
            switch number {
            case SIGINT: event = .interrupt
            case SIGWINCH: event = .resize
            default: event = .terminate
            }
            pendingSignalEvents.bitwiseOr(event.rawValue, ordering: .sequentiallyConsistent)
            var byte: UInt8 = 1
            _ = write(signalWakeDescriptor, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        // No SA_RESTART: a blocked read or poll returns EINTR, and the loop looks at the events.
        action.sa_flags = 0
        sigaction(number, &action, nil)
    }
}

/// Set once before any handler is installed, read only by the handlers.
nonisolated(unsafe) private var signalWakeDescriptor: Int32 = -1
private let pendingSignalEvents = Atomic<UInt32>(0)
