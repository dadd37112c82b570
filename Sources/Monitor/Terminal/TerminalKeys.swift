import Glibc
import Platform

/// The bytes typed at the terminal, read by the event loop as they come and kept until someone takes them: the
/// line editor between commands, the migration status view (^C, ^Z) during a synchronous migrate. What the status
/// view does not want it gives back, so those keys are edited and run afterwards as if typed at the prompt.
final class TerminalKeys {
    /// Type-ahead beyond this waits in the terminal's own buffer rather than ours.
    static let limit = 65536

    private let input: Int32
    private let loop: EventLoop
    private var source: EventLoop.SourceID?
    private var bytes: [UInt8] = []
    /// The terminal went away or ^D arrived on a terminal in raw mode; what was read before still counts.
    private(set) var ended = false

    init(input: Int32, loop: EventLoop) {
        self.input = input
        self.loop = loop
        source = loop.watch(input, interest: { [unowned self] in bytes.count < Self.limit ? .readable : [] }) {
            [unowned self] _ in readAvailable()
        }
    }

    var isEmpty: Bool { bytes.isEmpty }

    /// Every byte read so far.
    func take() -> [UInt8] {
        defer { bytes.removeAll() }
        return bytes
    }

    /// Puts `keys` back in front of what was typed since.
    func giveBack(_ keys: [UInt8]) {
        bytes.insert(contentsOf: keys, at: 0)
    }

    /// One whole UTF-8 sequence, decoded, or nil when none is complete yet (or the input has ended, the partial
    /// sequence then being decoded as what it is).
    func takeCharacter() -> [Unicode.Scalar]? {
        guard let first = bytes.first else { return nil }
        let length = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        guard bytes.count >= length || ended else { return nil }
        let count = min(length, bytes.count)
        let character = Array(String(decoding: bytes[0..<count], as: UTF8.self).unicodeScalars)
        bytes.removeFirst(count)
        return character
    }

    func stop() {
        if let source { loop.remove(source) }
        source = nil
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        switch retryingInterrupts({ chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) } }) {
        case .success(let n) where n > 0:
            bytes.append(contentsOf: chunk[0..<n])
        case .failure(.wouldBlock), .failure(.resourceTemporarilyUnavailable):
            break
        default:
            // The end of the terminal: poll would report it again and again.
            ended = true
            stop()
        }
    }
}
