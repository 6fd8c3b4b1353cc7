import GatewayModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bad replay file, with where and why: `FILE:LINE: message`.
public struct ReplayInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// 1-based line number; 0 when the problem is the file itself.
    public var line: Int
    public var message: String

    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

/// One reading of a replay CSV.
public struct ReplayRow: Sendable, Equatable {
    /// Milliseconds since the Unix epoch, UTC.
    public var ts: Int64
    public var device: String
    public var point: String
    /// `nil` for an empty value field: the reading carried no value (treated as `comm_error`).
    public var value: Double?
    /// Dense number of the (device, point) pair, in order of first appearance (0, 1, 2...):
    /// a replay can use it directly as a `PointID`.
    public var pairIndex: Int
    /// 1-based line in the file.
    public var line: Int

    public init(ts: Int64, device: String, point: String, value: Double?, pairIndex: Int, line: Int) {
        self.ts = ts
        self.device = device
        self.point = point
        self.value = value
        self.pairIndex = pairIndex
        self.line = line
    }
}

/// Reads `ts,device,point,value` rows (interface.md "Replay CSV") from a plain
/// or gzip file, in big chunks and at the byte level, so millions of rows take
/// seconds. Rows must be in time order; a row before its predecessor is an error.
/// Blocking file I/O: run it off the cooperative pool.
public struct ReplayReader {
    private let source: ChunkedSource
    private var lineNumber = 0
    private var previousTs = Int64.min
    /// Columns after `value` in the header; every row must have them too.
    private var extraColumns = 0
    private var pairs = PairTable()

    /// Opens the file (gzip is detected from its content, so `.gz` and plain both work) and checks the header.
    public init(path: String) throws {
        source = try ChunkedSource(path: path)
        guard let header = try source.nextLine() else {
            throw ReplayInputError(path: path, line: 1, message: "the file is empty; expected the header ts,device,point,value")
        }
        lineNumber = 1
        var text = String(decoding: UnsafeBufferPointer(start: header.base, count: header.count), as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let columns = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.filter { $0 != " " && $0 != "\t" && $0 != "\r" } }
        // Extra columns after the four (e.g. `quality,seq` from `gatewayctl buffer export`) are allowed and ignored.
        guard columns.count >= 4, Array(columns.prefix(4)) == ["ts", "device", "point", "value"] else {
            throw ReplayInputError(path: path, line: 1, message: "the header is \"\(text)\"; expected ts,device,point,value")
        }
        extraColumns = columns.count - 4
    }

    /// The next row, or `nil` at the end of the file. Throws `ReplayInputError` naming the line for a bad row.
    public mutating func next() throws -> ReplayRow? {
        while true {
            guard let line = try source.nextLine() else { return nil }
            lineNumber += 1
            var n = line.count
            let p = line.base
            if n > 0 && p[n - 1] == UInt8(ascii: "\r") { n -= 1 }
            if n == 0 { continue }  // blank lines (a trailing newline) carry nothing
            // Split at the three commas; device and point may not contain commas.
            var commas = (0, 0, 0)
            var found = 0
            var valueEnd = n
            for i in 0..<n where p[i] == UInt8(ascii: ",") {
                switch found {
                case 0: commas.0 = i
                case 1: commas.1 = i
                case 2: commas.2 = i
                case 3: valueEnd = i
                default: break
                }
                found += 1
            }
            guard found == 3 + extraColumns else {
                throw error("expected \(4 + extraColumns) fields as in the header, found \(found + 1): \"\(text(p, 0, n))\"")
            }
            n = valueEnd
            guard let ts = parseTimestamp(p, 0, commas.0) else {
                throw error("ts \"\(text(p, 0, commas.0))\" is neither epoch milliseconds nor an RFC 3339 time (2018-01-01T00:05:00Z)")
            }
            if ts < previousTs {
                throw error("row is out of time order: ts \(ts) comes before the previous row's \(previousTs); sort the file by ts")
            }
            previousTs = ts
            guard commas.1 > commas.0 + 1 else { throw error("device is empty") }
            guard commas.2 > commas.1 + 1 else { throw error("point is empty") }
            var value: Double? = nil
            if commas.2 + 1 < n {
                guard let v = parseNumber(p, commas.2 + 1, n) else {
                    throw error("value \"\(text(p, commas.2 + 1, n))\" is not a number")
                }
                value = v
            }
            let (index, device, point) = pairs.intern(p, commas.0 + 1, commas.1, commas.2)
            return ReplayRow(ts: ts, device: device, point: point, value: value, pairIndex: index, line: lineNumber)
        }
    }

    private func error(_ message: String) -> ReplayInputError {
        ReplayInputError(path: source.path, line: lineNumber, message: message)
    }
}

private func text(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: p + from, count: max(0, to - from)), as: UTF8.self)
}

/// (device, point) pairs met so far, found again without building strings per row.
private struct PairTable {
    private var slots: [UInt64: [Int]] = [:]
    private var keys: [[UInt8]] = []
    private var names: [(String, String)] = []

    mutating func intern(_ p: UnsafePointer<UInt8>, _ from: Int, _ comma: Int, _ to: Int) -> (Int, String, String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in from..<to { hash = (hash ^ UInt64(p[i])) &* 0x100_0000_01b3 }
        let count = to - from
        if let candidates = slots[hash] {
            for c in candidates where keys[c].count == count {
                let same = keys[c].withUnsafeBufferPointer { k in memcmp(k.baseAddress!, p + from, count) == 0 }
                if same { return (c, names[c].0, names[c].1) }
            }
        }
        let index = keys.count
        keys.append(Array(UnsafeBufferPointer(start: p + from, count: count)))
        names.append((text(p, from, comma), text(p, comma + 1, to)))
        slots[hash, default: []].append(index)
        return (index, names[index].0, names[index].1)
    }
}

/// Epoch milliseconds (optionally signed) or RFC 3339 (`T` or space, optional
/// fraction, `Z` or ±HH:MM).
func parseTimestamp(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
    var i = from
    while i < to && p[i] == UInt8(ascii: " ") { i += 1 }
    var end = to
    while end > i && p[end - 1] == UInt8(ascii: " ") { end -= 1 }
    guard i < end else { return nil }
    // Epoch milliseconds: digits only (a date has '-' after its year).
    var allDigits = true
    var j = p[i] == UInt8(ascii: "-") ? i + 1 : i
    if j == end { return nil }
    while j < end { if p[j] < 48 || p[j] > 57 { allDigits = false; break }; j += 1 }
    if allDigits {
        let negative = p[i] == UInt8(ascii: "-")
        var v: Int64 = 0
        for k in (negative ? i + 1 : i)..<end {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(p[k] - 48))
            if o1 || o2 { return nil }
            v = a
        }
        return negative ? -v : v
    }
    var k = i
    func digits(_ n: Int) -> Int? {
        guard k + n <= end else { return nil }
        var v = 0
        for _ in 0..<n {
            guard p[k] >= 48 && p[k] <= 57 else { return nil }
            v = v * 10 + Int(p[k] - 48)
            k += 1
        }
        return v
    }
    func expect(_ c: UInt8) -> Bool {
        guard k < end, p[k] == c else { return false }
        k += 1
        return true
    }
    guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")), let day = digits(2) else { return nil }
    guard k < end, p[k] == UInt8(ascii: "T") || p[k] == UInt8(ascii: "t") || p[k] == UInt8(ascii: " ") else { return nil }
    k += 1
    guard let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")), let second = digits(2) else { return nil }
    guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
    var millis = 0
    if k < end && p[k] == UInt8(ascii: ".") {
        k += 1
        var scale = 100
        let start = k
        while k < end && p[k] >= 48 && p[k] <= 57 {
            millis += Int(p[k] - 48) * scale
            scale /= 10
            k += 1
        }
        if k == start { return nil }
    }
    guard k < end else { return nil }  // RFC 3339 requires a zone
    var offsetMinutes = 0
    if p[k] == UInt8(ascii: "Z") || p[k] == UInt8(ascii: "z") {
        k += 1
    } else if p[k] == UInt8(ascii: "+") || p[k] == UInt8(ascii: "-") {
        let sign = p[k] == UInt8(ascii: "-") ? -1 : 1
        k += 1
        guard let oh = digits(2), expect(UInt8(ascii: ":")), let om = digits(2), oh < 24, om < 60 else { return nil }
        offsetMinutes = sign * (oh * 60 + om)
    } else {
        return nil
    }
    guard k == end else { return nil }
    let days = daysFromCivil(year: year, month: month, day: day)
    let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
    return seconds * 1000 + Int64(millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

private let powersOfTen: [Double] = (0...22).map { e in var v = 1.0; for _ in 0..<e { v *= 10 }; return v }

/// A decimal number. The common case (up to 15 significant digits, no
/// exponent) is one exact integer divided by an exact power of ten, which is
/// correctly rounded; anything else goes through strtod.
func parseNumber(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Double? {
    var i = from
    while i < to && p[i] == UInt8(ascii: " ") { i += 1 }
    var end = to
    while end > i && p[end - 1] == UInt8(ascii: " ") { end -= 1 }
    guard i < end else { return nil }
    var negative = false
    if p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") { negative = p[i] == UInt8(ascii: "-"); i += 1 }
    var mantissa: Int64 = 0
    var digits = 0
    var fraction = 0
    var seenDot = false
    var simple = true
    var k = i
    while k < end {
        let c = p[k]
        if c >= 48 && c <= 57 {
            if digits < 15 { mantissa = mantissa * 10 + Int64(c - 48); if mantissa > 0 { digits += 1 }; if seenDot { fraction += 1 } }
            else { simple = false; break }
        } else if c == UInt8(ascii: ".") && !seenDot {
            seenDot = true
        } else {
            simple = false
            break
        }
        k += 1
    }
    if simple && k > i && !(k == i + 1 && seenDot) {
        let v = Double(mantissa) / powersOfTen[fraction]
        return negative ? -v : v
    }
    // Exponents, long mantissas, "nan"/"inf" spelled out: let the C library decide, then refuse non-finite.
    var buffer = [CChar](repeating: 0, count: to - from + 1)
    for j in from..<to { buffer[j - from] = CChar(bitPattern: p[j]) }
    return buffer.withUnsafeBufferPointer { b -> Double? in
        var endPointer: UnsafeMutablePointer<CChar>? = nil
        let v = strtod(b.baseAddress!, &endPointer)
        guard let endPointer else { return nil }
        var rest = UnsafePointer(endPointer)
        while rest.pointee == 32 { rest += 1 }
        guard rest.pointee == 0, endPointer != UnsafeMutablePointer(mutating: b.baseAddress!), v.isFinite else { return nil }
        return v
    }
}
