/// Fits the parts of a status line into a width: each part has its renderings from the longest to the shortest
/// and a priority. The essential parts (priority 0) always stay, in their shortest renderings first; then each
/// other part, by priority, comes in with the longest rendering that still fits, or not at all; last, the
/// essentials take longer renderings where room is left. The parts keep their order on the line.
struct StatusLineLayout {
    struct Part {
        /// Longest first; never empty.
        var renderings: [String]
        /// 0 is essential; higher numbers go first when room is short.
        var priority: Int
    }

    static let separator = " · "

    var parts: [Part] = []

    mutating func add(_ priority: Int, _ renderings: String...) {
        let kept = renderings.filter { !$0.isEmpty }
        if !kept.isEmpty { parts.append(Part(renderings: kept, priority: priority)) }
    }

    /// The line, at most `width` characters (the essentials are cut when even they do not fit).
    func render(width: Int) -> String {
        var chosen = [Int?](repeating: nil, count: parts.count)
        let byPriority = parts.indices.sorted { (parts[$0].priority, $0) < (parts[$1].priority, $1) }
        func length() -> Int {
            let used = parts.indices.compactMap { i in chosen[i].map { parts[i].renderings[$0].count } }
            return used.reduce(0, +) + StatusLineLayout.separator.count * max(0, used.count - 1)
        }
        for i in byPriority where parts[i].priority == 0 { chosen[i] = parts[i].renderings.count - 1 }
        func takeLongestFitting(_ i: Int, orKeep fallback: Int?) {
            for rendering in parts[i].renderings.indices {
                chosen[i] = rendering
                if length() <= width { return }
            }
            chosen[i] = fallback
        }
        for i in byPriority where parts[i].priority > 0 { takeLongestFitting(i, orKeep: nil) }
        for i in byPriority where parts[i].priority == 0 { takeLongestFitting(i, orKeep: chosen[i]) }
        let line = parts.indices.compactMap { i in chosen[i].map { parts[i].renderings[$0] } }
            .joined(separator: StatusLineLayout.separator)
        return String(line.prefix(max(0, width)))
    }
}
