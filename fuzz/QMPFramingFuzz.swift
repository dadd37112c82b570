// libFuzzer entry for QMP's input path: the JSON stream splitter, fed the input whole, again cut at a point the
// input picks, and again a byte at a time, then the JSON parser and the QMP message decoder over every text it
// completes. Each must return or throw; a trap, an ASan report, the feedings disagreeing, or a piece that breaks
// the splitter's promises (a text or a `.stray` over the limit, a `.stray` that is not a string cut by a control
// character) is a bug. Built by fuzz/build.sh.
import QMP
import QObject

private let limit = 4096

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
            if let value = try? QValue(json: String(decoding: text, as: UTF8.self)) {
                _ = QMPMessage(value)
                _ = value.json
            }
        case .stray(let stray):
            // From the opening quote to the control character that broke the string, none before it.
            guard let first = stray.first, let last = stray.last, stray.count >= 2, stray.count <= limit + 1,
                first == UInt8(ascii: "\"") || first == UInt8(ascii: "'"), last < 0x20,
                !stray.dropLast().contains(where: { $0 < 0x20 })
            else { fatalError("a stray piece that is not a broken string: \(stray.prefix(64))") }
        case .tooLarge:
            break
        }
    }
    return 0
}
