import CCurses
import Glibc

/// The terminal's own control sequences, from its terminfo entry (through ncurses), rather than hard-coded
/// escapes; a terminal without an entry, or TERM=dumb, gets none and `canPinStatusLine` is false.
struct Terminfo: Sendable {
    /// The controlling terminal's entry, read once: setupterm allocates a new terminal each time it is called.
    static let current = Terminfo()

    /// Clears from the cursor to the end of the line (`el`).
    let clearLine: String
    private let saveCursor: String
    private let restoreCursor: String
    private let cursorUp: String
    private let scrollRegionFormat: String?
    private let cursorAddressFormat: String?

    init() {
        var status: Int32 = 0
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        let known = term != "dumb" && !term.isEmpty && setupterm(nil, 1, &status) == OK
        func capability(_ name: String) -> String? { known ? hmp_tigetstr(name).map { String(cString: $0) } : nil }
        clearLine = capability("el") ?? ""
        saveCursor = capability("sc") ?? ""
        restoreCursor = capability("rc") ?? ""
        cursorUp = capability("cuu1") ?? ""
        scrollRegionFormat = capability("csr")
        cursorAddressFormat = capability("cup")
    }

    /// Whether a status line can be kept on the bottom row while the lines above scroll.
    var canPinStatusLine: Bool {
        scrollRegionFormat != nil && cursorAddressFormat != nil && !saveCursor.isEmpty && !restoreCursor.isEmpty
            && !clearLine.isEmpty && !cursorUp.isEmpty
    }

    /// The terminal's size now, from the kernel; 80×24 when it will not say.
    static func size(of fd: Int32 = 1) -> (rows: Int, columns: Int) {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 {
            return (Int(size.ws_row), Int(size.ws_col))
        }
        return (24, 80)
    }

    /// Reserves the bottom row: the rows above scroll as one region, the cursor stays where it was.
    func reserveBottomRow(rows: Int) -> String {
        // A newline and a step back up make sure the cursor is not on the row being taken away.
        "\n" + cursorUp + saveCursor + scrollRegion(top: 0, bottom: rows - 2) + restoreCursor
    }

    /// Gives the bottom row back to the scrolling text, blank.
    func releaseBottomRow(rows: Int) -> String {
        saveCursor + moveTo(row: rows - 1, column: 0) + clearLine + scrollRegion(top: 0, bottom: rows - 1)
            + restoreCursor
    }

    /// The whole screen scrolls again, the cursor where it was; for leaving in a hurry.
    func resetScrollRegion(rows: Int) -> String {
        saveCursor + scrollRegion(top: 0, bottom: rows - 1) + restoreCursor
    }

    /// Writes `text` on the bottom row without moving the cursor.
    func drawBottomRow(_ text: String, rows: Int) -> String {
        saveCursor + moveTo(row: rows - 1, column: 0) + clearLine + text + restoreCursor
    }

    private func scrollRegion(top: Int, bottom: Int) -> String {
        guard let format = scrollRegionFormat, let s = hmp_tparm2(format, top, bottom) else { return "" }
        return String(cString: s)
    }

    private func moveTo(row: Int, column: Int) -> String {
        guard let format = cursorAddressFormat, let s = hmp_tparm2(format, row, column) else { return "" }
        return String(cString: s)
    }
}
