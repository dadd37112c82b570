/// Fits the parts of a status line into a width: each part has its renderings from the longest to the shortest
/// and a priority. The essential parts (priority 0) always stay, in their shortest renderings first; then each
/// part up to `detailPriority`, by priority, comes in with the longest rendering that still fits, or not at all;
/// then the essentials take longer renderings where room is left, the last on the line first, and last the
/// remaining parts come in as the detail did. The parts keep their order on the line.
struct StatusLineLayout {
    struct Part {
        /// Longest first; never empty.
        var renderings: [String]
        /// 0 is essential; higher numbers go first when room is short.
        var priority: Int
    }

    static let separator = " · "
    /// Parts this important (the throttle, the advice) come before the essentials' longer renderings.
    static let detailPriority = 2

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
        let detail = 1...StatusLineLayout.detailPriority
        for i in byPriority where detail.contains(parts[i].priority) { takeLongestFitting(i, orKeep: nil) }
        // Last essential first: the leading figure's long form only adds a word, a cause's adds what happened.
        for i in byPriority.reversed() where parts[i].priority == 0 { takeLongestFitting(i, orKeep: chosen[i]) }
        for i in byPriority where parts[i].priority > StatusLineLayout.detailPriority {
            takeLongestFitting(i, orKeep: nil)
        }
        let line = parts.indices.compactMap { i in chosen[i].map { parts[i].renderings[$0] } }
            .joined(separator: StatusLineLayout.separator)
        return String(line.prefix(max(0, width)))
    }
}
