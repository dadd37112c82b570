// libFuzzer entry for QMP's input path: the JSON stream splitter, fed the input whole and again cut at a point
// the input picks, then the JSON parser and the QMP message decoder over every text it completes. Each must
// return or throw; a trap, an ASan report, or the two feedings disagreeing is a bug. Built by fuzz/build.sh.
import QMP
import QObject

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = JSONStreamSplitter(limit: 4096)
    let pieces = whole.feed(bytes) + whole.finish()

    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var split = JSONStreamSplitter(limit: 4096)
    let again = split.feed(bytes[..<cut]) + split.feed(bytes[cut...]) + split.finish()
    if pieces != again { fatalError("the splitter's result depends on where reads end") }

    for case .text(let text) in pieces {
        if let value = try? QValue(json: String(decoding: text, as: UTF8.self)) {
            _ = QMPMessage(value)
            _ = value.json
        }
    }
    return 0
}
