import CSQLite
import GatewayModel

#if canImport(Glibc)
import Glibc
#endif

/// Who did something, for the audit log.
public struct AuditActor: Sendable, Equatable {
    public var uid: Int64
    public var user: String

    public init(uid: Int64, user: String) {
        self.uid = uid
        self.user = user
    }

    /// The real user running this process (uid and login name from the password database).
    public static var current: AuditActor {
        let uid = getuid()
        var name = "uid \(uid)"
        if let pw = getpwuid(uid), let n = pw.pointee.pw_name { name = String(cString: n) }
        return AuditActor(uid: Int64(uid), user: name)
    }
}

/// What `buffer purge --sent --before T` would remove.
public struct PurgePlan: Sendable, Equatable, Codable {
    public var beforeMilliseconds: Int64
    public var records: Int64
    public var firstSeq: UInt64?
    public var lastSeq: UInt64?
    public var oldestMilliseconds: Int64?
    public var newestMilliseconds: Int64?
}

/// The maintenance side of the buffer (`gatewayctl buffer purge`): a
/// read-write connection of its own with a busy timeout, changing rows in
/// short transactions so the daemon's writer never waits long. Blocking; use
/// it on one thread.
public final class BufferMaintenance {
    let connection: SQLiteConnection
    public let path: String
    /// Rows deleted per transaction: small enough that the writer waits milliseconds, not seconds.
    public static let rowsPerTransaction = 5000

    /// Opens an existing buffer read-write.
    /// - Throws: `StoreError.cannotOpen` (no database there, permissions), `.locked`, `.corrupt`.
    public init(path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw StoreError.cannotOpen(path: path, detail: "no buffer database here (has gatewayd run with this data_dir?)")
        }
        connection = try SQLiteConnection(path: path, readOnly: false, create: false)
        self.path = path
        try connection.execute("PRAGMA busy_timeout = 5000")
    }

    /// What purging sent records stamped before `beforeMilliseconds` would remove. Changes nothing.
    public func planPurgeSent(beforeMilliseconds: Int64) throws -> PurgePlan {
        let s = try connection.prepare("SELECT count(*), min(seq), max(seq), min(ts), max(ts) FROM records WHERE sent = 1 AND ts < ?")
        s.bind(1, beforeMilliseconds)
        _ = try s.step()
        let n = s.int64(0)
        return PurgePlan(beforeMilliseconds: beforeMilliseconds, records: n,
                         firstSeq: n > 0 ? UInt64(s.int64(1)) : nil, lastSeq: n > 0 ? UInt64(s.int64(2)) : nil,
                         oldestMilliseconds: n > 0 ? s.int64(3) : nil, newestMilliseconds: n > 0 ? s.int64(4) : nil)
    }

    /// Removes what `plan` showed: sent records stamped before its time, no
    /// further than its last `seq` (rows sent after the plan was made stay).
    /// Deletes in short transactions, then writes one audit row. Returns the
    /// number of rows removed. Sent rows need no `gaps` announcement: the
    /// broker already acknowledged them.
    public func purgeSent(_ plan: PurgePlan, actor: AuditActor, nowMilliseconds: Int64) throws -> Int64 {
        guard let first = plan.firstSeq, let last = plan.lastSeq else {
            try recordAudit(action: "purge", detail: "sent records before \(plan.beforeMilliseconds): nothing to remove",
                            rows: 0, actor: actor, nowMilliseconds: nowMilliseconds)
            return 0
        }
        let delete = try connection.prepare("""
            DELETE FROM records WHERE seq IN (
                SELECT seq FROM records WHERE seq BETWEEN ? AND ? AND sent = 1 AND ts < ? ORDER BY seq LIMIT ?)
            """)
        var removed: Int64 = 0
        while true {
            let n = try connection.transaction { () -> Int in
                delete.bind(1, Int64(first))
                delete.bind(2, Int64(last))
                delete.bind(3, plan.beforeMilliseconds)
                delete.bind(4, BufferMaintenance.rowsPerTransaction)
                try delete.run()
                return connection.changes
            }
            removed += Int64(n)
            if n < BufferMaintenance.rowsPerTransaction { break }
        }
        try recordAudit(action: "purge", detail: "sent records before \(plan.beforeMilliseconds) (seq \(first)–\(last))",
                        rows: removed, actor: actor, nowMilliseconds: nowMilliseconds)
        return removed
    }

    /// Appends one row to the audit log (`gatewayctl audit`).
    public func recordAudit(action: String, detail: String, rows: Int64, actor: AuditActor, nowMilliseconds: Int64) throws {
        let s = try connection.prepare("INSERT INTO audit(at_ms, uid, user, action, detail, rows) VALUES (?, ?, ?, ?, ?, ?)")
        s.bind(1, nowMilliseconds)
        s.bind(2, actor.uid)
        s.bind(3, actor.user)
        s.bind(4, action)
        s.bind(5, detail)
        s.bind(6, rows)
        try s.run()
    }
}
