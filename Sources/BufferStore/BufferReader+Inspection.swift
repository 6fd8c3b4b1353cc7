import CSQLite
import GatewayModel

/// Which records `buffer tail` / `buffer export` want. Every field narrows; nil means any.
public struct RecordFilter: Sendable, Equatable {
    public var device: String?
    public var point: String?
    /// Inclusive lower bound on `ts` (epoch ms).
    public var sinceMilliseconds: Int64?
    /// Exclusive upper bound on `ts` (epoch ms).
    public var untilMilliseconds: Int64?
    /// Only records with `seq` above this (for `--follow`).
    public var afterSeq: UInt64?

    public init(device: String? = nil, point: String? = nil, sinceMilliseconds: Int64? = nil,
                untilMilliseconds: Int64? = nil, afterSeq: UInt64? = nil) {
        self.device = device
        self.point = point
        self.sinceMilliseconds = sinceMilliseconds
        self.untilMilliseconds = untilMilliseconds
        self.afterSeq = afterSeq
    }
}

/// A stored record with its names resolved, as the CLI prints it.
public struct RecordRow: Sendable, Equatable, Codable {
    public var seq: UInt64
    /// `reading`, `event` or `alarm`.
    public var kind: String
    public var timestampMilliseconds: Int64
    public var device: String
    public var point: String
    public var unit: String
    public var value: Double?
    public var quality: String
    public var sent: Bool
    /// Events and alarms: their own fields as a JSON fragment (`"key":value,...`).
    public var detail: String?
}

/// One row of the `alarms` table: an alarm's latest transition.
public struct AlarmRow: Sendable, Equatable, Codable {
    public var id: String
    public var type: String
    public var severity: String
    /// `raised` or `cleared`.
    public var state: String
    public var device: String
    public var point: String
    public var raisedMilliseconds: Int64?
    public var changedMilliseconds: Int64
    public var value: Double?
    public var message: String
    public var seq: UInt64
}

/// One row of the `audit` table.
public struct AuditRow: Sendable, Equatable, Codable {
    public var atMilliseconds: Int64
    public var uid: Int64
    public var user: String
    public var action: String
    public var detail: String
    public var rows: Int64
}

extension BufferReader {
    /// The newest `limit` records matching `filter`, returned oldest first. Blocks for the query.
    public func tail(_ filter: RecordFilter, limit: Int) throws -> [RecordRow] {
        var rows: [RecordRow] = []
        let (whereSQL, binds) = Self.whereClause(filter)
        let s = try connection.prepare("""
            SELECT r.seq, r.kind, r.ts, p.device, p.point, p.unit, r.value, r.quality, r.sent, r.detail
            FROM records r LEFT JOIN points p ON p.id = r.point_id \(whereSQL) ORDER BY r.seq DESC LIMIT ?
            """)
        let n = Self.bind(s, binds)
        s.bind(n, limit)
        while try s.step() { rows.append(Self.row(s)) }
        return rows.reversed()
    }

    /// Calls `body` for every record matching `filter`, in `seq` order, without
    /// holding more than one row in memory. One statement, so one read snapshot:
    /// rows the daemon commits meanwhile are not seen, and the export is
    /// consistent. `body` returns false to stop early. Blocks for the whole walk.
    public func forEachRecord(_ filter: RecordFilter, _ body: (RecordRow) throws -> Bool) throws {
        let (whereSQL, binds) = Self.whereClause(filter)
        let s = try connection.prepare("""
            SELECT r.seq, r.kind, r.ts, p.device, p.point, p.unit, r.value, r.quality, r.sent, r.detail
            FROM records r LEFT JOIN points p ON p.id = r.point_id \(whereSQL) ORDER BY r.seq
            """)
        _ = Self.bind(s, binds)
        while try s.step() {
            if try !body(Self.row(s)) { break }
        }
        s.reset()
    }

    /// How many records match `filter` (for a progress bar). Blocks for the count.
    public func countRecords(_ filter: RecordFilter) throws -> Int64 {
        let (whereSQL, binds) = Self.whereClause(filter)
        let s = try connection.prepare("SELECT count(*) FROM records r LEFT JOIN points p ON p.id = r.point_id \(whereSQL)")
        _ = Self.bind(s, binds)
        return try s.step() ? s.int64(0) : 0
    }

    /// Alarms from the `alarms` table, newest change first: only raised ones when
    /// `activeOnly`, only those changed at or after `sinceMilliseconds` when given.
    public func alarms(activeOnly: Bool, sinceMilliseconds: Int64? = nil) throws -> [AlarmRow] {
        var conditions: [String] = []
        if activeOnly { conditions.append("a.state = 'raised'") }
        if sinceMilliseconds != nil { conditions.append("a.changed_ms >= ?") }
        let whereSQL = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let s = try connection.prepare("""
            SELECT a.alarm_id, a.type, a.severity, a.state, coalesce(p.device, ''), coalesce(p.point, ''),
                   a.raised_ms, a.changed_ms, a.value, a.message, a.seq
            FROM alarms a LEFT JOIN points p ON p.id = a.point_id \(whereSQL) ORDER BY a.changed_ms DESC, a.alarm_id
            """)
        if let since = sinceMilliseconds { s.bind(1, since) }
        var out: [AlarmRow] = []
        while try s.step() {
            out.append(AlarmRow(id: s.text(0) ?? "", type: s.text(1) ?? "", severity: s.text(2) ?? "", state: s.text(3) ?? "",
                                device: s.text(4) ?? "", point: s.text(5) ?? "", raisedMilliseconds: s.isNull(6) ? nil : s.int64(6),
                                changedMilliseconds: s.int64(7), value: s.double(8), message: s.text(9) ?? "",
                                seq: UInt64(s.int64(10))))
        }
        return out
    }

    /// The audit log, newest first.
    public func audit(limit: Int = 1000) throws -> [AuditRow] {
        let s = try connection.prepare("SELECT at_ms, uid, user, action, detail, rows FROM audit ORDER BY id DESC LIMIT ?")
        s.bind(1, limit)
        var out: [AuditRow] = []
        while try s.step() {
            out.append(AuditRow(atMilliseconds: s.int64(0), uid: s.int64(1), user: s.text(2) ?? "", action: s.text(3) ?? "",
                                detail: s.text(4) ?? "", rows: s.int64(5)))
        }
        return out
    }

    /// Unsent records and the timestamp of the oldest, cheap enough for every `status`.
    public func backlog() throws -> (records: Int64, oldestMilliseconds: Int64?) {
        let count = try connection.scalarInt("SELECT count(*) FROM records WHERE sent = 0")
        let s = try connection.prepare("SELECT ts FROM records WHERE sent = 0 ORDER BY seq LIMIT 1")
        return (count, try s.step() ? s.int64(0) : nil)
    }

    /// SQLite's `PRAGMA integrity_check`: `["ok"]` when the file is sound, else
    /// the problems it found (at most `maxProblems`). Blocks; reads the whole file.
    public func integrityCheck(maxProblems: Int = 100) throws -> [String] {
        let s = try connection.prepare("PRAGMA integrity_check(\(max(1, maxProblems)))")
        var out: [String] = []
        while try s.step() { out.append(s.text(0) ?? "") }
        return out
    }

    static func whereClause(_ f: RecordFilter) -> (String, [SQLBind]) {
        var conditions: [String] = []
        var binds: [SQLBind] = []
        if let d = f.device { conditions.append("p.device = ?"); binds.append(.text(d)) }
        if let p = f.point { conditions.append("p.point = ?"); binds.append(.text(p)) }
        if let s = f.sinceMilliseconds { conditions.append("r.ts >= ?"); binds.append(.int(s)) }
        if let u = f.untilMilliseconds { conditions.append("r.ts < ?"); binds.append(.int(u)) }
        if let a = f.afterSeq { conditions.append("r.seq > ?"); binds.append(.int(Int64(min(a, UInt64(Int64.max))))) }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), binds)
    }

    /// Binds in order; returns the next free parameter index.
    static func bind(_ s: SQLiteStatement, _ binds: [SQLBind]) -> Int32 {
        var i: Int32 = 1
        for b in binds {
            switch b {
            case .int(let v): s.bind(i, v)
            case .text(let t): s.bind(i, t)
            }
            i += 1
        }
        return i
    }

    static func row(_ s: SQLiteStatement) -> RecordRow {
        let kind: String
        switch s.int64(1) {
        case 1: kind = "event"
        case 2: kind = "alarm"
        default: kind = "reading"
        }
        return RecordRow(seq: UInt64(s.int64(0)), kind: kind, timestampMilliseconds: s.int64(2), device: s.text(3) ?? "?",
                         point: s.text(4) ?? "?", unit: s.text(5) ?? "", value: s.double(6),
                         quality: (Quality(rawValue: UInt8(truncatingIfNeeded: s.int64(7))) ?? .good).name,
                         sent: s.int64(8) != 0, detail: s.isNull(9) ? nil : s.text(9))
    }
}

enum SQLBind {
    case int(Int64)
    case text(String)
}
