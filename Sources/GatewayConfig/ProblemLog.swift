/// Collects problems while one file is read, so the reader can report all of
/// them at once instead of stopping at the first.
final class ProblemLog {
    let file: String
    let index: KeyLineIndex
    private(set) var problems: [ConfigProblem] = []

    init(file: String, index: KeyLineIndex) {
        self.file = file
        self.index = index
    }

    /// Records a problem at `path`; the line is the path's own line, or the one given.
    func report(_ path: String, _ message: String, line: Int? = nil) {
        problems.append(ConfigProblem(file: file, line: line ?? index.line(of: path), key: path, message: message))
    }

    /// The problems in file order (stable for problems on one line).
    var sorted: [ConfigProblem] {
        problems.enumerated().sorted { a, b in
            a.element.line != b.element.line ? a.element.line < b.element.line : a.offset < b.offset
        }.map(\.element)
    }
}

/// "Did you mean …?" for misspelt keys and values.
enum Spelling {
    /// The candidate closest to `word` if it is close enough to be a likely typo.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for c in candidates {
            let d = distance(lowered, c.lowercased())
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (candidate, d) = best else { return nil }
        // One edit per three letters, at least one, at most three.
        let allowed = min(3, max(1, candidate.count / 3))
        return d <= allowed ? candidate : nil
    }

    /// Levenshtein distance (with adjacent transpositions counted as one edit).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }

    /// `a, b or c`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + items.last!
    }
}
