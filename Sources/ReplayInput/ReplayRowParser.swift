#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One row as the replay loop needs it: no strings, the names are in the pair table.
struct ParsedRow {
    var ts: Int64
    /// NaN when the value field was empty (a parsed value is never NaN: non-finite numbers are refused).
    var value: Double
    var pairIndex: Int32
}

/// Turns the lines of a replay CSV into rows, checking the header, the field
/// count, the time order and each field. Shared by `ReplayReader` (one row at
/// a time) and `ReplayBatchReader` (batches from a reader thread).
///
/// The common line shape (`digits,device,point,number`, the pair predicted
/// from the previous row) is parsed in one pass; any other line, including
/// every bad one, goes through the general path, which decides the errors.
struct ReplayRowParser {
    let path: String
    /// Columns after `value` in the header; every row must have them too.
    let extraColumns: Int
    /// 1-based number of the last line handed to `parse`.
    private(set) var lineNumber = 1
    private var previousTs = Int64.min
    let pairs = PairTable()

    /// Reads and checks the header line.
    init(source: ChunkedSource) throws {
        path = source.path
        guard let header = try source.nextLine() else {
            throw ReplayInputError(path: path, line: 1, message: "the file is empty; expected the header ts,device,point,value")
        }
        var text = String(decoding: UnsafeBufferPointer(start: header.base, count: header.count), as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let columns = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.filter { $0 != " " && $0 != "\t" && $0 != "\r" } }
        // Extra columns after the four (e.g. `quality,seq` from `gatewayctl buffer export`) are allowed and ignored.
        guard columns.count >= 4, Array(columns.prefix(4)) == ["ts", "device", "point", "value"] else {
            throw ReplayInputError(path: path, line: 1, message: "the header is \"\(text)\"; expected ts,device,point,value")
        }
        extraColumns = columns.count - 4
    }

    /// The row on the next line, or `nil` for a blank line. Throws `ReplayInputError` naming the line.
    @inline(__always)
    mutating func parse(_ line: ChunkedSource.Line) throws -> ParsedRow? {
        lineNumber += 1
        var n = line.count
        let p = line.base
        if n > 0 && p[n - 1] == UInt8(ascii: "\r") { n -= 1 }
        if n == 0 { return nil }  // blank lines (a trailing newline) carry nothing
        if extraColumns == 0, let row = parseCommonShape(p, n) { return row }
        return try parseGeneral(p, n)
    }

    /// `epoch-ms,device,point,decimal-or-empty` and in time order, or `nil` to let the general path decide.
    @inline(__always)
    private mutating func parseCommonShape(_ p: UnsafePointer<UInt8>, _ n: Int) -> ParsedRow? {
        // Epoch milliseconds, at most 18 digits (no overflow), then the first comma.
        var ts: Int64 = 0
        var i = 0
        while i < n && i < 18 {
            let d = p[i] &- 48
            if d > 9 { break }
            ts = ts &* 10 &+ Int64(d)
            i += 1
        }
        guard i > 0, i < n, p[i] == UInt8(ascii: ","), ts >= previousTs else { return nil }
        let keyStart = i + 1
        // `device,point`: the predicted pair's bytes, or else two non-empty names up to the third comma.
        var pair = -1
        var comma1 = 0
        var keyEnd = 0
        if let (guess, end) = pairs.predicted(p, keyStart, n) {
            pair = guess
            keyEnd = end
        } else {
            guard let c1 = memchr(p + keyStart, 0x2C, n - keyStart) else { return nil }
            comma1 = p.distance(to: c1.assumingMemoryBound(to: UInt8.self))
            guard comma1 > keyStart, comma1 + 1 < n, let c2 = memchr(p + comma1 + 1, 0x2C, n - comma1 - 1) else { return nil }
            keyEnd = p.distance(to: c2.assumingMemoryBound(to: UInt8.self))
            guard keyEnd > comma1 + 1 else { return nil }
        }
        let valueStart = keyEnd + 1
        var value = Double.nan
        if valueStart < n {
            guard let v = parseSimpleDecimal(p, valueStart, n) else { return nil }
            value = v
        }
        // Only a row that is accepted may number a new pair or move the prediction.
        if pair >= 0 { pairs.follow(pair) } else { pair = pairs.intern(p, keyStart, comma1, keyEnd) }
        previousTs = ts
        return ParsedRow(ts: ts, value: value, pairIndex: Int32(pair))
    }

    private mutating func parseGeneral(_ p: UnsafePointer<UInt8>, _ count: Int) throws -> ParsedRow {
        var n = count
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
        var value = Double.nan
        if commas.2 + 1 < n {
            guard let v = parseNumber(p, commas.2 + 1, n) else {
                throw error("value \"\(text(p, commas.2 + 1, n))\" is not a number")
            }
            value = v
        }
        let index = pairs.intern(p, commas.0 + 1, commas.1, commas.2)
        return ParsedRow(ts: ts, value: value, pairIndex: Int32(index))
    }

    private func error(_ message: String) -> ReplayInputError {
        ReplayInputError(path: path, line: lineNumber, message: message)
    }
}

func text(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: p + from, count: max(0, to - from)), as: UTF8.self)
}

/// (device, point) pairs met so far, numbered in order of first appearance.
///
/// A replay file cycles through its points in the same order at every time
/// step, so the pair that followed this one last time is tried first (one
/// `memcmp`); only a miss hashes the bytes. Owned by one thread at a time;
/// the owner frees the key bytes.
final class PairTable {
    private var slots: [UInt64: [Int]] = [:]
    /// `device,point` bytes of each pair, as in the file.
    private var keys: [UnsafeMutableBufferPointer<UInt8>] = []
    private(set) var names: [(device: String, point: String)] = []
    /// For each pair, the pair that came right after it last time.
    private var successor: [Int] = []
    private var last = -1

    var count: Int { keys.count }

    deinit {
        for k in keys { k.deallocate() }
    }

    /// The pair expected next, if `p[from...]` starts with its `device,point`
    /// bytes followed by a comma before `to`, and that comma's offset. Changes nothing.
    @inline(__always)
    func predicted(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> (Int, Int)? {
        let guess = last >= 0 ? successor[last] : 0
        guard guess >= 0 && guess < keys.count else { return nil }
        let key = keys[guess]
        let end = from + key.count
        guard end < to && p[end] == UInt8(ascii: ",") && memcmp(key.baseAddress!, p + from, key.count) == 0 else { return nil }
        return (guess, end)
    }

    /// Records that the row just accepted was of pair `index`.
    @inline(__always)
    func follow(_ index: Int) {
        if last >= 0 { successor[last] = index }
        last = index
    }

    /// The number of the pair `p[from..<comma]`, `p[comma+1..<to]`, added if new.
    func intern(_ p: UnsafePointer<UInt8>, _ from: Int, _ comma: Int, _ to: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in from..<to { hash = (hash ^ UInt64(p[i])) &* 0x100_0000_01b3 }
        let count = to - from
        var index = -1
        if let candidates = slots[hash] {
            for c in candidates where keys[c].count == count && memcmp(keys[c].baseAddress!, p + from, count) == 0 {
                index = c
                break
            }
        }
        if index < 0 {
            index = keys.count
            let key = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: count)
            _ = key.initialize(from: UnsafeBufferPointer(start: p + from, count: count))
            keys.append(key)
            names.append((text(p, from, comma), text(p, comma + 1, to)))
            successor.append(-1)
            slots[hash, default: []].append(index)
        }
        follow(index)
        return index
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

/// 10^0 ... 10^22: every one is exact in a Double.
private let powersOfTen: [Double] = (0...22).map { e in var v = 1.0; for _ in 0..<e { v *= 10 }; return v }

/// `[+-]digits[.digits]` or `[+-].digits` filling `p[from..<to]`, with at most
/// 15 significant digits and 22 decimals, or `nil` for anything else.
///
/// Exact: the digits form an integer below 10^15 < 2^53 and 10^fraction is
/// exact, so the one IEEE division is correctly rounded, the same Double
/// strtod (and `Double(String)`) returns.
@inline(__always)
func parseSimpleDecimal(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Double? {
    var k = from
    var negative = false
    if p[k] == UInt8(ascii: "-") || p[k] == UInt8(ascii: "+") { negative = p[k] == UInt8(ascii: "-"); k += 1 }
    let start = k
    var mantissa: Int64 = 0
    var digits = 0  // significant digits (leading zeros do not count)
    var fraction = 0
    var dot = -1
    while k < to {
        let d = p[k] &- 48
        if d <= 9 {
            mantissa = mantissa &* 10 &+ Int64(d)
            if mantissa > 0 { digits += 1 }
            if dot >= 0 { fraction += 1 }
        } else if p[k] == UInt8(ascii: ".") && dot < 0 {
            dot = k
        } else {
            return nil
        }
        k += 1
    }
    let count = k - start
    guard count > 0, !(count == 1 && dot >= 0), digits <= 15, fraction <= 22 else { return nil }
    let v = Double(mantissa) / powersOfTen[fraction]
    return negative ? -v : v
}

/// A decimal number, with blanks around it allowed. The common case goes
/// through `parseSimpleDecimal`; anything else (exponents, long mantissas,
/// "nan"/"inf" spelled out) through strtod, refusing non-finite results.
func parseNumber(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Double? {
    var i = from
    while i < to && p[i] == UInt8(ascii: " ") { i += 1 }
    var end = to
    while end > i && p[end - 1] == UInt8(ascii: " ") { end -= 1 }
    guard i < end else { return nil }
    if let v = parseSimpleDecimal(p, i, end) { return v }
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
