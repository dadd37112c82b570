import CEditLine
import Glibc
import Platform
import HMP

/// The terminal monitor's line editing, through libedit: emacs keys by default, the user's ~/.editrc (vi mode
/// included), Ctrl-R search, history, and Tab completion from the command table.
///
/// libedit blocks inside `el_gets`; its read function is ours (`EL_GETCFN`): while it waits for a key it runs the
/// event loop, so every other monitor is served, and it wakes for signals and for lines to print above the prompt.
final class LineEditor {
    enum Input {
        case line(String)
        /// Ctrl-C: the line was abandoned.
        case interrupted
        /// Ctrl-D on an empty line, or the terminal went away.
        case endOfInput
        /// The application asked the editor to stop waiting (quit from elsewhere).
        case stopped
    }

    private let editLine: OpaquePointer
    private let history: OpaquePointer
    private var historyEvent = HistEvent()
    private let prompt: UnsafeMutablePointer<CChar>
    private let keys: TerminalKeys
    private let output: Int32
    private let loop: EventLoop
    /// Set by the loop's wake-up; the editor calls `onWake` before it waits again.
    private var woken = false
    private let terminal = Terminfo.current

    /// Completes the text before the cursor.
    var complete: ((String) -> Completion)?
    /// Called when the loop's wake-up pipe has fired; returns what the editor should do.
    var onWake: (() -> WakeAction)?

    enum WakeAction {
        case keepReading
        case interrupt
        case resize
        case stop
    }

    // Flags the C callbacks set for `readLine` to act on once el_gets returns.
    private var interruptPending = false
    private var lineWasInterrupted = false
    private var stopRequested = false
    /// Decoded characters waiting to be handed to libedit one at a time.
    private var pendingInput: [wchar_t] = []

    init(prompt: String, keys: TerminalKeys, input: Int32 = 0, output: Int32 = 1, loop: EventLoop, history lines: [String]) {
        self.keys = keys
        self.output = output
        self.loop = loop
        self.prompt = strdup(prompt)
        // Copies for libedit's FILEs, so that its fclose leaves ours open; close-on-exec, as every descriptor.
        let stdinFile = fdopen((try? Descriptor.duplicate(input)) ?? -1, "r")
        let stdoutFile = fdopen((try? Descriptor.duplicate(output)) ?? -1, "w")
        let stderrFile = fdopen((try? Descriptor.duplicate(2)) ?? -1, "w")
        editLine = el_init("hmp", stdinFile, stdoutFile, stderrFile)
        history = history_init()
        _ = hmp_history_setsize(history, &historyEvent, 1000)
        _ = hmp_history_setunique(history, &historyEvent, 1)
        for line in lines { _ = hmp_history_enter(history, &historyEvent, line) }

        _ = hmp_el_set_clientdata(editLine, Unmanaged.passUnretained(self).toOpaque())
        _ = hmp_el_set_editor(editLine, "emacs")
        _ = hmp_el_set_hist(editLine, history)
        _ = hmp_el_set_prompt(editLine) { el in LineEditor.from(el).prompt }
        _ = hmp_el_set_getcfn(editLine) { el, character in LineEditor.from(el).readCharacter(into: character) }
        _ = hmp_el_addfn(editLine, "hmp-complete", "Complete the word before the cursor") { el, _ in
            LineEditor.from(el).completeWord()
        }
        _ = hmp_el_addfn(editLine, "hmp-interrupt", "Abandon the line being edited") { el, _ in
            LineEditor.from(el).abandonLine()
        }
        bindDefaults()
        // The user's ~/.editrc (or $EDITRC) comes last but for our own keys, so that it can change the rest.
        _ = el_source(editLine, nil)
        bindOwnKeys()
        loop.onWake { [weak self] in self?.woken = true }
    }

    deinit {
        el_end(editLine)
        history_end(history)
        free(prompt)
    }

    private static func from(_ el: OpaquePointer?) -> LineEditor {
        Unmanaged<LineEditor>.fromOpaque(hmp_el_get_clientdata(el)!).takeUnretainedValue()
    }

    private func bindDefaults() {
        _ = hmp_el_bind(editLine, "^R", "em-inc-search-prev")
        _ = hmp_el_bind(editLine, "^S", "em-inc-search-next")
    }

    private func bindOwnKeys() {
        _ = hmp_el_bind(editLine, "^I", "hmp-complete")
        _ = hmp_el_bind(editLine, "^C", "hmp-interrupt")
    }

    func addToHistory(_ line: String) {
        _ = hmp_history_enter(history, &historyEvent, line)
    }

    /// Waits for one line; returns it without its newline.
    func readLine() -> Input {
        interruptPending = false
        lineWasInterrupted = false
        var count: Int32 = 0
        let raw = el_gets(editLine, &count)
        if stopRequested { return .stopped }
        guard let raw, count > 0 else { return .endOfInput }
        if lineWasInterrupted { return .interrupted }
        var line = String(cString: raw)
        if line.hasSuffix("\n") { line.removeLast() }
        return .line(line)
    }

    /// Redraws the prompt and the line being edited, after something else wrote to the terminal.
    func redraw() {
        _ = hmp_el_refresh(editLine)
    }

    /// Prints lines above the prompt: the line being edited is cleared, the lines written, and the prompt and
    /// the partial input drawn again below them.
    func printAbove(_ lines: [String]) {
        let clear = terminal.clearLine
        try? FileIO.writeAll(output, "\r" + clear + lines.map { $0 + "\n" }.joined())
        redraw()
    }

    // MARK: - C callbacks

    /// libedit's read function: one character, or 0 for end of input.
    private func readCharacter(into character: UnsafeMutablePointer<wchar_t>?) -> Int32 {
        while true {
            if interruptPending {
                // The line was marked abandoned; a newline makes el_gets return it, and readLine discards it.
                interruptPending = false
                character?.pointee = 0x0A
                return 1
            }
            if !pendingInput.isEmpty {
                character?.pointee = pendingInput.removeFirst()
                return 1
            }
            if woken {
                woken = false
                switch onWake?() ?? .keepReading {
                case .keepReading: break
                case .resize:
                    // el_refresh draws from where the cursor is: start the row afresh, or the prompt is drawn twice.
                    el_resize(editLine)
                    try? FileIO.writeAll(output, "\r" + terminal.clearLine)
                    redraw()
                case .interrupt:
                    character?.pointee = 0x03
                    return 1
                case .stop:
                    stopRequested = true
                    return 0
                }
                continue
            }
            if let scalars = keys.takeCharacter() {
                pendingInput.append(contentsOf: scalars.map { wchar_t(bitPattern: $0.value) })
                continue
            }
            if keys.ended { return 0 }
            loop.runOnce()
        }
    }

    private func completeWord() -> UInt8 {
        guard let info = el_line(editLine)?.pointee, let complete else { return UInt8(CC_ERROR) }
        let length = info.cursor - info.buffer
        let before = String(decoding: UnsafeRawBufferPointer(start: info.buffer, count: length), as: UTF8.self)
        let completion = complete(before)
        let candidates = completion.candidates
        guard !candidates.isEmpty else { return UInt8(CC_REFRESH_BEEP) }
        if candidates.count == 1 {
            // A directory or a URI scheme (`tcp:`) is only the start of the word; anything else is whole.
            let isPrefix = candidates[0].hasSuffix("/") || candidates[0].hasSuffix(":")
            if completion.quoted {
                replaceWord(completion.word, with: Completion.quotedText(candidates[0], closed: !isPrefix))
                if !isPrefix { _ = el_insertstr(editLine, " ") }
            } else {
                _ = el_insertstr(editLine, String(candidates[0].dropFirst(completion.word.count)) + (isPrefix ? "" : " "))
            }
            return UInt8(CC_REFRESH)
        }
        let common = CompletionList.longestCommonPrefix(candidates)
        if completion.quoted {
            replaceWord(completion.word, with: Completion.quotedText(common, closed: false))
        } else if common.count > completion.word.count {
            _ = el_insertstr(editLine, String(common.dropFirst(completion.word.count)))
        }
        var listing = "\n"
        for row in CompletionList.columns(candidates, width: Terminfo.size(of: output).columns) { listing += row + "\n" }
        try? FileIO.writeAll(output, listing)
        return UInt8(CC_REDISPLAY)
    }

    /// Deletes the word before the cursor and inserts `text` in its place (a file name that must be quoted).
    private func replaceWord(_ word: String, with text: String) {
        el_deletestr(editLine, Int32(word.unicodeScalars.count))
        _ = el_insertstr(editLine, text)
    }

    private func abandonLine() -> UInt8 {
        // Show the abandoned line with ^C, as shells do, then end it.
        if let info = el_line(editLine)?.pointee {
            _ = el_cursor(editLine, Int32(info.lastchar - info.cursor))
        }
        _ = el_insertstr(editLine, "^C")
        lineWasInterrupted = true
        interruptPending = true
        return UInt8(CC_REFRESH)
    }
}
