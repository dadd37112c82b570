// libFuzzer entry for QMP's input path: the JSON stream splitter, fed the input whole, again cut at a point the
// input picks, and again a byte at a time, then the JSON parser and the QMP message decoder over every text it
// completes. Each must return or throw; a trap, an ASan report, the feedings disagreeing, or a piece that breaks
// the splitter's promises (a text over the limit; a `.stray` that is neither a string cut by a control character
// or 0xFE/0xFF nor one byte no token starts with; a quote of more than 256 bytes) is a bug.
//
// One input in 512 (by a hash of its bytes, so the choice is repeatable yet cannot be learnt by the fuzzer's
// comparisons) is also grown into what a hostile peer sends: an object of up to 21,000 keys made from the input's
// bytes, with a string of up to 256 KiB of them, framed, parsed and timed. Work must stay linear: more than 10 µs
// a byte, and 20 µs a piece the splitter cuts (ASan included; a quadratic QDict took seconds here), is a bug.
// Built by fuzz/build.sh.
import Glibc
import QMP
import QObject

private let limit = 4096

/// FNV-1a: which inputs are grown.
private func hash(_ bytes: [UInt8]) -> UInt32 {
    bytes.reduce(2_166_136_261 as UInt32) { ($0 ^ UInt32($1)) &* 16_777_619 }
}

private func seconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// The input as a hostile message: `{"execute":"x","arguments":{"<k>0":…}, "id":"<long>"}` whose keys and string
/// repeat the input's bytes (escaped only where the grammar needs it, so invalid UTF-8 and escapes get through).
private func grown(_ bytes: [UInt8]) -> [UInt8] {
    let keys = 1_000 + Int(bytes[1]) * 78  // up to ~21,000
    let stringLength = Int(bytes[2]) << 10  // up to ~256 KiB
    let fragment = bytes.dropFirst(3).map { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 ? UInt8(ascii: "_") : $0 }
    var out = Array(#"{"execute":"x","arguments":{"#.utf8)
    out.reserveCapacity(keys * (fragment.count + 12) + stringLength + 64)
    for i in 0..<keys {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out += fragment.prefix(16)
        out.append(contentsOf: String(i).utf8)
        out.append(contentsOf: #"":"#.utf8)
        out.append(contentsOf: String(i).utf8)
    }
    out += Array(#"},"id":""#.utf8)
    var remaining = stringLength
    while remaining > 0 && !fragment.isEmpty {
        let piece = fragment.prefix(remaining)
        out += piece
        remaining -= piece.count
    }
    out += Array(#""}"#.utf8)
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = JSONStreamSplitter(limit: limit)
    let pieces = whole.feed(bytes) + whole.finish()

    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var split = JSONStreamSplitter(limit: limit)
    let again = split.feed(bytes[..<cut]) + split.feed(bytes[cut...]) + split.finish()
    if pieces != again { fatalError("the splitter's result depends on where reads end") }

    var single = JSONStreamSplitter(limit: limit)
    var bytewise: [JSONStreamSplitter.Piece] = []
    for byte in bytes { bytewise += single.feed(CollectionOfOne(byte)) }
    bytewise += single.finish()
    if pieces != bytewise { fatalError("the splitter's result differs when fed a byte at a time") }
    if single.hasPartialValue { fatalError("finish() left a partial value") }

    for piece in pieces {
        switch piece {
        case .text(let text):
            if text.isEmpty || text.count > limit { fatalError("a text of \(text.count) bytes") }
            switch Result(catching: { () throws(JSONError) in try QValue(jsonBytes: text) }) {
            case .success(let value):
                _ = QMPMessage(value)
                _ = value.json
                // The server's checks of a request, before and after negotiation, as hmp's QMP server runs them.
                if let request = value.dict {
                    for negotiated in [false, true] {
                        if let command = try? QMPServerProtocol.command(of: request, negotiated: negotiated),
                            command.name == QMPServerProtocol.negotiation
                        {
                            _ = try? QMPServerProtocol.negotiate(command.arguments)
                        }
                    }
                    _ = QMPServerProtocol.reply(value, id: request["id"])
                }
            case .failure(let error):
                _ = QMPServerProtocol.parseError(text, error)
            }
        case .stray(let stray):
            let quoteLimit = JSONStreamSplitter.strayQuoteLimit
            let isBrokenString = stray.count >= 2
                && (stray.first == UInt8(ascii: "\"") || stray.first == UInt8(ascii: "'"))
                && (stray.count == quoteLimit + 3 ? stray.suffix(3).elementsEqual("...".utf8)
                    : stray.last! < 0x20 || stray.last! >= 0xFE)
            let isLoneByte = stray.count == 1 && (stray[0] >= 0x80 || (stray[0] < 0x20 && ![0x09, 0x0A, 0x0D].contains(stray[0])))
            guard isBrokenString || isLoneByte, stray.count <= quoteLimit + 3 else {
                fatalError("a stray piece that is neither a broken string nor a lone byte: \(stray.prefix(64))")
            }
        case .tooLarge:
            break
        }
    }

    if bytes.count >= 4, hash(bytes) % 512 == 0 {
        let message = grown(bytes)
        let start = seconds()
        var splitter = JSONStreamSplitter()
        var parsed = 0
        let pieces = splitter.feed(message) + splitter.finish()
        for piece in pieces {
            if case .text(let text) = piece, let value = try? QValue(jsonBytes: text) {
                parsed += value.dict?.count ?? 0
                _ = value.dict?["arguments"]?.dict?["x"]
            }
        }
        let elapsed = seconds() - start
        // Each piece (a stray byte among them) costs a few allocations of its own: allowed for apart from bytes.
        if elapsed > 0.05 + Double(message.count) * 10e-6 + Double(pieces.count) * 20e-6 {
            fatalError("\(message.count) bytes in \(pieces.count) pieces took \(elapsed) s: \(elapsed / Double(message.count) * 1e6) µs a byte")
        }
    }
    return 0
}
