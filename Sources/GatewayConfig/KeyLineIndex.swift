/// Maps key paths such as `device[2].point[0].address` to the line they are
/// written on.
///
/// TOMLKit (toml++) reports lines only for syntax errors, so the reader scans
/// the text once itself. The scan understands just enough TOML to follow
/// `[table]` and `[[array.of.tables]]` headers (counting occurrences per
/// parent, so the second `[[device.point]]` under the third `[[device]]` is
/// `device[2].point[1]`), `key = value` lines (dotted and quoted keys),
/// inline tables, arrays and strings (so a `#` or `=` inside a string
/// is not mistaken for syntax). It only runs on text TOMLKit has already
/// accepted, so it does not diagnose anything.
struct KeyLineIndex: Sendable {
    private(set) var lines: [String: Int] = [:]

    init(text: String) {
        var scan = Scan(bytes: Array(text.utf8))
        scan.run()
        lines = scan.lines
    }

    /// The line of `path`; for a key that is not written (a missing required
    /// key), the line of the nearest enclosing table that is; else 1.
    func line(of path: String) -> Int {
        var p = Substring(path)
        while !p.isEmpty {
            if let l = lines[String(p)] { return l }
            p = ConfigKeyPath.parent(of: p)
        }
        return 1
    }
}

/// Building and taking apart key paths; the index and the reader must agree on the spelling.
enum ConfigKeyPath {
    static func child(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : parent + "." + key }
    static func element(_ parent: String, _ index: Int) -> String { parent + "[\(index)]" }

    /// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → ``.
    static func parent(of path: Substring) -> Substring {
        if path.hasSuffix("]"), let open = path.lastIndex(of: "[") { return path[..<open] }
        if let dot = path.lastIndex(of: ".") { return path[..<dot] }
        return ""
    }
}

private struct Scan {
    let bytes: [UInt8]
    var i = 0
    var lines: [String: Int] = [:]
    /// Occurrences of each array of tables, keyed by its resolved path without index.
    var arrayCounts: [String: Int] = [:]
    let lineStarts: [Int]

    init(bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        for (n, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(n + 1) }
        lineStarts = starts
    }

    func lineAt(_ offset: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo + 1
    }

    var current: UInt8? { i < bytes.count ? bytes[i] : nil }
    func peek(_ n: Int) -> UInt8? { i + n < bytes.count ? bytes[i + n] : nil }

    mutating func record(_ path: String, at offset: Int) {
        if lines[path] == nil { lines[path] = lineAt(offset) }
    }

    mutating func run() {
        var table = ""
        while true {
            skipBlank(newlines: true)
            guard let c = current else { return }
            let start = i
            if c == UInt8(ascii: "[") {
                let isArray = peek(1) == UInt8(ascii: "[")
                i += isArray ? 2 : 1
                let segments = readKey()
                var path = ""
                for (n, segment) in segments.enumerated() {
                    let candidate = ConfigKeyPath.child(path, segment)
                    if n == segments.count - 1 && isArray {
                        let count = arrayCounts[candidate, default: 0]
                        arrayCounts[candidate] = count + 1
                        record(candidate, at: start)
                        path = ConfigKeyPath.element(candidate, count)
                    } else if let count = arrayCounts[candidate] {
                        path = ConfigKeyPath.element(candidate, count - 1)
                    } else {
                        path = candidate
                    }
                }
                record(path, at: start)
                table = path
                skipRestOfLine()
            } else {
                let before = i
                readKeyValue(prefix: table)
                if i == before { i += 1 }
                skipRestOfLine()
            }
        }
    }

    /// Skips spaces, tabs, comments and (if asked) newlines.
    mutating func skipBlank(newlines: Bool) {
        while let c = current {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { i += 1 }
            else if newlines && c == UInt8(ascii: "\n") { i += 1 }
            else if c == UInt8(ascii: "#") { while let d = current, d != UInt8(ascii: "\n") { i += 1 } }
            else { return }
        }
    }

    mutating func skipRestOfLine() {
        while let c = current, c != UInt8(ascii: "\n") {
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { skipString() } else { i += 1 }
        }
    }

    /// A possibly dotted, possibly quoted key; stops before `=` or `]`.
    mutating func readKey() -> [String] {
        var segments: [String] = []
        while true {
            skipBlank(newlines: false)
            guard let c = current else { return segments }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                let start = i
                skipString()
                let raw = bytes[min(start + 1, bytes.count)..<min(bytes.count, max(start + 1, i - 1))]
                segments.append(String(decoding: raw, as: UTF8.self))
            } else {
                let start = i
                while let d = current, isBareKeyByte(d) { i += 1 }
                if i == start { return segments }
                segments.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            skipBlank(newlines: false)
            if current == UInt8(ascii: ".") { i += 1 } else { return segments }
        }
    }

    func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    mutating func readKeyValue(prefix: String) {
        let start = i
        let segments = readKey()
        guard !segments.isEmpty else { return }
        let path = ConfigKeyPath.child(prefix, segments.joined(separator: "."))
        record(path, at: start)
        skipBlank(newlines: false)
        guard current == UInt8(ascii: "=") else { return }
        i += 1
        skipBlank(newlines: false)
        readValue(path: path)
    }

    mutating func readValue(path: String) {
        guard let c = current else { return }
        switch c {
        case UInt8(ascii: "{"):
            i += 1
            while current != nil {
                skipBlank(newlines: true)
                guard let d = current else { return }
                if d == UInt8(ascii: "}") { i += 1; return }
                if d == UInt8(ascii: ",") { i += 1; continue }
                let before = i
                readKeyValue(prefix: path)
                if i == before { i += 1 }
            }
        case UInt8(ascii: "["):
            i += 1
            var n = 0
            while current != nil {
                skipBlank(newlines: true)
                guard let d = current else { return }
                if d == UInt8(ascii: "]") { i += 1; return }
                if d == UInt8(ascii: ",") { i += 1; continue }
                let element = ConfigKeyPath.element(path, n)
                record(element, at: i)
                let before = i
                readValue(path: element)
                if i == before { i += 1 }
                n += 1
            }
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            skipString()
        default:
            while let d = current, d != UInt8(ascii: ","), d != UInt8(ascii: "]"), d != UInt8(ascii: "}"),
                  d != UInt8(ascii: "#"), d != UInt8(ascii: "\n") { i += 1 }
        }
    }

    /// Skips a basic or literal string, single or triple quoted, leaving `i` after its closing quote.
    mutating func skipString() {
        guard let quote = current else { return }
        let triple = peek(1) == quote && peek(2) == quote
        i += triple ? 3 : 1
        while let c = current {
            if c == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") { i += 2; continue }
            if c == quote {
                if !triple { i += 1; return }
                if peek(1) == quote && peek(2) == quote {
                    // A triple-quoted string may end with up to two extra quotes: `""""` or `"""""`.
                    i += 3
                    while current == quote { i += 1 }
                    return
                }
            }
            if !triple && c == UInt8(ascii: "\n") { return }
            i += 1
        }
    }
}
