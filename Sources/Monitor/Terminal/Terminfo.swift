import CCurses
import Glibc

/// The terminal's own control sequences, from its terminfo entry (through ncurses), rather than hard-coded
/// escapes; a terminal without an entry gets none.
struct Terminfo {
    /// Clears from the cursor to the end of the line (`el`).
    let clearLine: String
    /// Columns, from the entry; the live width comes from TIOCGWINSZ.
    let columns: Int

    init() {
        var status: Int32 = 0
        guard setupterm(nil, 1, &status) == OK else {
            clearLine = ""
            columns = 80
            return
        }
        clearLine = hmp_tigetstr("el").map { String(cString: $0) } ?? ""
        let cols = hmp_tigetnum("cols")
        columns = cols > 0 ? Int(cols) : 80
    }
}
