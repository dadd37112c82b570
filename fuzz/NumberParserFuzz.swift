// libFuzzer entry for the number readers behind monitor arguments and option values: QEMUSize (qemu_strtosz) with
// each default unit, from any start, strtoull (bases 0, 10, 16), strtod, the expression evaluator, `/fmt`,
// option lists (QemuOpts), booleans, socket addresses, quoted words, and every migration parameter's values. Each
// must return or throw; a trap, an ASan report or a broken invariant (an end index outside the input) is a bug.
// Built by fuzz/build.sh, with HMP compiled with -enable-testing so that its internal readers can be called directly.
@testable import HMP
import Machine
import MigrationModel
import Platform
import QObject

private let units: [UInt64] = [0, 1, 1 << 10, 1 << 20, 1 << 30, 1 << 60, .max]
// Every row of the parameter table: a new parameter is fuzzed as soon as it is added.
private let parameterNames = MigrationParameters.names

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    // Readers take a start index; try the start, and one the input picks (possibly past the end).
    let starts = [0, bytes.first.map { Int($0) % (bytes.count + 2) } ?? 1]

    for unit in units { _ = try? parseSize(text, defaultUnit: unit) }
    _ = try? MachineConfiguration.parseRAMSize(text)
    _ = try? WorkloadRates.parse(text)
    _ = try? DriveConfiguration.parse(text, index: 0)
    _ = QemuOpts.elements(of: text)
    _ = QEMUBool.parse(text)
    // Socket addresses: -qmp, --connect, migrate and -incoming URIs all go through this reader.
    if let address = try? QEMUSocketAddress.parse(text) { _ = address.description }
    for name in parameterNames {
        var parameters = MigrationParameters()
        _ = try? parameters.set(name: name, value: text)
    }

    for start in starts {
        for unit in [UInt64(1), 1 << 20] {
            if let size = try? QEMUSize.parse(bytes, from: start, defaultUnit: unit) {
                precondition(size.end > start && size.end <= bytes.count)
            }
        }
        for base in [0, 10, 16] {
            let number = CNumbers.strtoull(bytes, from: start, base: base)
            precondition(number.end >= start && (number.end == start || number.end <= bytes.count))
        }
        if let number = CNumbers.strtod(bytes, from: start) { precondition(number.end <= bytes.count) }

        var cursor = LineCursor(bytes: bytes, at: start)
        if (try? Expression.evaluate(&cursor)) != nil { precondition(cursor.index <= max(start, bytes.count)) }

        var formats = MemoryFormat()
        var arguments = QDict()
        cursor = LineCursor(bytes: bytes, at: start)
        _ = try? formats.read(&cursor, into: &arguments)

        cursor = LineCursor(bytes: bytes, at: start)
        _ = try? QuotedWord.read(&cursor)
    }
    _ = try? QuotedWord.split(text)
    _ = try? OptionList.parse(text, impliedName: "driver")
    return 0
}
