/// How a list of completions is laid out, as QEMU's readline lays it: columns as wide as the longest candidate
/// plus two (at least 10), as many as fit the terminal.
enum CompletionList {
    static func columns(_ candidates: [String], width: Int) -> [String] {
        let columnWidth = max(10, (candidates.map(\.count).max() ?? 0) + 2)
        let perRow = max(1, min(width, 80) / columnWidth)
        var rows: [String] = []
        var row = ""
        for (i, candidate) in candidates.enumerated() {
            let isLast = (i + 1) % perRow == 0 || i == candidates.count - 1
            row += isLast ? candidate : candidate + String(repeating: " ", count: max(0, columnWidth - candidate.count))
            if isLast {
                rows.append(row)
                row = ""
            }
        }
        return rows
    }

    static func longestCommonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first else { return "" }
        for word in words.dropFirst() {
            while !word.hasPrefix(prefix) { prefix.removeLast() }
        }
        return prefix
    }
}
