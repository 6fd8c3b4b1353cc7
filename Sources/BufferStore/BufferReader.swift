import CSQLite
import GatewayModel

#if canImport(Glibc)
import Glibc
#endif

/// Numbers a maintainer asks for first (`gatewayctl buffer stats`).
public struct BufferStats: Sendable, Equatable, Codable {
    public var store: String
    public var path: String
    public var pendingRecords: Int64
    public var sentRecords: Int64
    public var oldestPendingSeq: UInt64?
    public var oldestPendingMilliseconds: Int64?
    public var lastSeq: UInt64
    /// File size of the database plus its WAL.
    public var databaseBytes: Int64
    /// Pages in use (what `max_size` bounds).
    public var usedBytes: Int64
    public var gapRanges: Int64
    public var gapRecords: Int64
    public var unannouncedGapRanges: Int64
}

/// A gap range as listed by `buffer stats` (evicted ranges).
public struct GapRow: Sendable, Equatable, Codable {
    public var from: UInt64
    public var to: UInt64
    public var count: UInt64
    public var reason: String
    public var atMilliseconds: Int64
    public var announced: Bool
}

/// A read-side connection to the buffer, for the uplink's backlog, resends
/// and the CLI. Blocking calls: use it on the thread that owns it.
/// Readers never block the writer (WAL: readers see the last commit).
public final class BufferReader {
    let connection: SQLiteConnection
    public let path: String
    public let storeID: String
    private lazy var pendingStatement = try? connection.prepare(
        "SELECT \(BufferQueries.recordColumns) FROM records WHERE sent = 0 AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?")
    private lazy var rangeStatement = try? connection.prepare(
        "SELECT \(BufferQueries.recordColumns) FROM records WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?")

    /// Opens an existing buffer read-only (or read-write for maintenance).
    public init(path: String, writable: Bool = false) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw StoreError.cannotOpen(path: path, detail: "no buffer database here (has gatewayd run with this data_dir?)")
        }
        connection = try SQLiteConnection(path: path, readOnly: !writable, create: false)
        self.path = path
        try connection.execute("PRAGMA busy_timeout = 5000")
        try connection.execute("PRAGMA cache_size = -\(SQLiteConnection.readerCacheKilobytes)")
        storeID = try connection.scalarText("SELECT value FROM meta WHERE key = 'store_id'") ?? ""
    }

    public func catalog() throws -> PointCatalog { try BufferQueries.catalog(connection) }

    /// Unsent records with `afterSeq < seq <= throughSeq`, oldest first.
    public func pendingRecords(afterSeq: UInt64, throughSeq: UInt64, limit: Int) throws -> [StoredRecord] {
        guard let s = pendingStatement else { throw StoreError.sqlite(code: 0, message: "prepare failed", doing: "backlog query") }
        defer { s.reset() }
        s.bind(1, Int64(afterSeq))
        s.bind(2, Int64(min(throughSeq, UInt64(Int64.max))))
        s.bind(3, limit)
        var out: [StoredRecord] = []
        out.reserveCapacity(limit)
        while try s.step() { out.append(BufferQueries.record(from: s)) }
        return out
    }

    /// Records (sent or not) with `from <= seq <= to`, for `cmd/resend`.
    public func records(from: UInt64, to: UInt64, limit: Int) throws -> [StoredRecord] {
        guard let s = rangeStatement else { throw StoreError.sqlite(code: 0, message: "prepare failed", doing: "range query") }
        defer { s.reset() }
        s.bind(1, Int64(from))
        s.bind(2, Int64(min(to, UInt64(Int64.max))))
        s.bind(3, limit)
        var out: [StoredRecord] = []
        while try s.step() { out.append(BufferQueries.record(from: s)) }
        return out
    }

    public func unannouncedGaps() throws -> [StoredGap] {
        try BufferQueries.unannouncedGaps(connection, store: storeID)
    }

    public func lastSeq() throws -> UInt64 {
        UInt64(try connection.scalarText("SELECT value FROM meta WHERE key = 'last_seq'") ?? "0") ?? 0
    }

    public func stats() throws -> BufferStats {
        // One read transaction so the numbers agree with each other.
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let pending = try connection.scalarInt("SELECT count(*) FROM records WHERE sent = 0")
        let total = try connection.scalarInt("SELECT count(*) FROM records")
        let oldest = try connection.prepare("SELECT seq, ts FROM records WHERE sent = 0 ORDER BY seq LIMIT 1")
        var oldestSeq: UInt64?
        var oldestTs: Int64?
        if try oldest.step() { oldestSeq = UInt64(oldest.int64(0)); oldestTs = oldest.int64(1) }
        let pageSize = try connection.scalarInt("PRAGMA page_size")
        let used = (try connection.scalarInt("PRAGMA page_count") - (try connection.scalarInt("PRAGMA freelist_count"))) * pageSize
        let gaps = try connection.prepare("SELECT count(*), coalesce(sum(count), 0), coalesce(sum(announced = 0), 0) FROM gaps")
        _ = try gaps.step()
        return BufferStats(store: storeID, path: path, pendingRecords: pending, sentRecords: total - pending,
                           oldestPendingSeq: oldestSeq, oldestPendingMilliseconds: oldestTs, lastSeq: try lastSeq(),
                           databaseBytes: fileSize(path) + fileSize(path + "-wal"), usedBytes: used,
                           gapRanges: gaps.int64(0), gapRecords: gaps.int64(1), unannouncedGapRanges: gaps.int64(2))
    }

    public func gaps(limit: Int = 1000) throws -> [GapRow] {
        let s = try connection.prepare("SELECT first_seq, last_seq, count, reason, at_ms, announced FROM gaps ORDER BY id DESC LIMIT ?")
        s.bind(1, limit)
        var out: [GapRow] = []
        while try s.step() {
            out.append(GapRow(from: UInt64(s.int64(0)), to: UInt64(s.int64(1)), count: UInt64(s.int64(2)),
                              reason: s.text(3) ?? "", atMilliseconds: s.int64(4), announced: s.int64(5) != 0))
        }
        return out
    }

    private func fileSize(_ p: String) -> Int64 {
        var st = stat()
        return stat(p, &st) == 0 ? Int64(st.st_size) : 0
    }
}
