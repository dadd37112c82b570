import QObject

/// QEMU 7.2's monitor_parse_arguments: walks a row's args_type once, left to right, reading each argument at the
/// cursor. Flags are tried where the table puts them, so `-b -d` fails on `migrate` (see `FlagHint`).
struct ArgumentsReader {
    let specs: [ArgSpec]
    /// The args_type entries as written, because QEMU's flag check searches the rest of that text.
    let entries: [Substring]
    /// The row's display name, which QEMU puts in front of its messages (`quit|q: extraneous ...`).
    let commandName: String
    var cursor: LineCursor
    var formats: MemoryFormat
    /// What QEMU warns about while reading the arguments (a hex size with a suffix), printed before the command runs.
    var warnings: [String] = []

    mutating func read() throws(ArgumentFailure) -> QDict {
        var arguments = QDict()
        for (index, spec) in specs.enumerated() {
            try read(spec, at: index, into: &arguments)
        }
        cursor.skipSpaces()
        guard cursor.atEnd else {
            throw ArgumentFailure(
                message: "\(commandName): extraneous characters at the end of line", mayBeFlagOrder: true)
        }
        return arguments
    }

    private mutating func read(_ spec: ArgSpec, at index: Int, into arguments: inout QDict) throws(ArgumentFailure) {
        switch spec.kind {
        case .string, .filename, .blockDevice:
            cursor.skipSpaces()
            if spec.optional && cursor.atEnd { return }
            do {
                arguments[spec.name] = .string(try QuotedWord.read(&cursor))
            } catch {
                let expected = switch spec.kind {
                case .filename: "filename"
                case .blockDevice: "block device name"
                default: "string"
                }
                let message = "\(commandName): \(expected) expected"
                throw ArgumentFailure(message: error.preface.map { "\($0)\n\(message)" } ?? message)
            }

        case .restOfLine:
            cursor.skipSpaces()
            if spec.optional && cursor.atEnd { return }
            guard !cursor.atEnd else { throw ArgumentFailure(message: "\(commandName): string expected") }
            arguments[spec.name] = .string(cursor.rest)
            cursor.index = cursor.bytes.count

        case .options:
            cursor.skipSpaces()
            // QEMU leaves an absent option list out even when it is not marked optional.
            if cursor.atEnd { return }
            let text: String
            do { text = try QuotedWord.read(&cursor) } catch {
                throw ArgumentFailure(message: error.preface ?? "\(commandName): string expected")
            }
            for (key, value) in try OptionList.parse(text, impliedName: spec.name) { arguments[key] = .string(value) }

        case .format:
            try formats.read(&cursor, into: &arguments)

        case .int32, .long, .megabytes:
            cursor.skipSpaces()
            if spec.dotted {
                guard cursor.current == UInt8(ascii: ".") else { return }
                cursor.advance()
                cursor.skipSpaces()
            } else if spec.optional && cursor.atEnd {
                return
            }
            var value = try Expression.evaluate(&cursor)
            if spec.kind == .int32 && (value >> 32) & 0xffff_ffff != 0 {
                throw ArgumentFailure(message: "'\(commandName)' has failed: integer is for 32-bit values")
            }
            if spec.kind == .megabytes {
                guard value >= 0 else { throw ArgumentFailure(message: "enter a positive value") }
                value = value &* (1 << 20)
            }
            // `l` values above Int64.max keep their bit pattern, as QEMU's qdict_put_int does.
            arguments[spec.name] = .int(value)

        case .size:
            cursor.skipSpaces()
            if spec.optional && cursor.atEnd { return }
            // qemu_strtosz_MiB with an end pointer: what follows the size is the next argument's.
            guard let size = try? QEMUSize.parse(cursor.bytes, from: cursor.index, defaultUnit: 1 << 20),
                size.bytes <= UInt64(Int64.max)
            else {
                throw ArgumentFailure(message: "invalid size")
            }
            if size.hexWithSuffix {
                warnings.append(QEMUSize.hexSuffixWarning(String(decoding: cursor.bytes[cursor.index...], as: UTF8.self)))
            }
            arguments[spec.name] = .int(Int64(size.bytes))
            cursor.index = size.end

        case .seconds:
            cursor.skipSpaces()
            if spec.optional && cursor.atEnd { return }
            guard let number = CNumbers.strtod(cursor.bytes, from: cursor.index) else {
                throw ArgumentFailure(message: "Number expected")
            }
            guard number.value.isFinite else { throw ArgumentFailure(message: "Bad number") }
            cursor.index = number.end
            var seconds = number.value
            if !cursor.atEnd && cursor.byte(at: cursor.index + 1) == UInt8(ascii: "s") {
                let divisor: Double? = switch cursor.current {
                case UInt8(ascii: "m"): 1e3
                case UInt8(ascii: "u"): 1e6
                case UInt8(ascii: "n"): 1e9
                default: nil
                }
                if let divisor {
                    seconds /= divisor
                    cursor.advance(2)
                }
            }
            guard cursor.atEnd || cursor.current.isCSpace else { throw ArgumentFailure(message: "Unknown unit suffix") }
            arguments[spec.name] = .double(seconds)

        case .bool:
            cursor.skipSpaces()
            // QEMU has no optional `b`; ours may be left out at the end of the line.
            if spec.optional && cursor.atEnd { return }
            let start = cursor.index
            while cursor.current.isCGraph { cursor.advance() }
            switch cursor.text(start..<cursor.index) {
            case "on": arguments[spec.name] = .bool(true)
            case "off": arguments[spec.name] = .bool(false)
            default: throw ArgumentFailure(message: "Expected 'on' or 'off'")
            }

        case .flag(let letter), .flagWithValue(let letter):
            try readFlag(spec, letter: letter, at: index, into: &arguments)
        }
    }

    private mutating func readFlag(_ spec: ArgSpec, letter: Character, at index: Int, into arguments: inout QDict)
        throws(ArgumentFailure)
    {
        let start = cursor.index
        cursor.skipSpaces()
        guard cursor.current == UInt8(ascii: "-") else { return }
        cursor.advance()
        let typed = cursor.current
        guard typed.printed != String(letter) else {
            if case .flagWithValue = spec.kind {
                cursor.advance()
                do {
                    arguments[spec.name] = .string(try QuotedWord.read(&cursor))
                } catch {
                    let message = "\(commandName): value expected for -\(letter)"
                    throw ArgumentFailure(message: error.preface.map { "\($0)\n\(message)" } ?? message)
                }
            } else {
                cursor.advance()
                arguments[spec.name] = .bool(true)
            }
            return
        }
        // QEMU looks for "-<typed>" anywhere in the rest of the args_type text: a later flag of this row is left
        // for its own turn, anything else is refused. A lone "-" matches any later '-' (the `migrate -` quirk).
        let option = typed == 0 ? "-" : "-" + typed.printed
        guard remainingTypeText(after: index).contains(option) else {
            throw ArgumentFailure(
                message: "\(commandName): unsupported option -\(typed == 0 ? "" : typed.printed)", mayBeFlagOrder: true)
        }
        cursor.index = start
    }

    /// The args_type text after flag `index`'s letter, as QEMU's typestr points there.
    private func remainingTypeText(after index: Int) -> String {
        // A flag's entry is `name:-x` or `name:-xs` (ArgsTypeParser checks), so the letter ends 2 past the colon;
        // searching from the colon keeps a `-` inside the name from being taken for the flag's.
        let entry = entries[index]
        let type = entry.firstIndex(of: ":").map { entry[entry.index(after: $0)...] } ?? entry[...]
        return ([String(type.dropFirst(2))] + entries[(index + 1)...].map(String.init)).joined(separator: ",")
    }
}
