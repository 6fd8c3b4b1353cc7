import CSQLite
import GatewayModel
import Logging

/// Keeps the buffer within `max_size` and `max_age`. Sent rows go first; only
/// then the oldest pending rows, and every pending range removed becomes a gap
/// (counted, logged, announced on `gaps`). Runs on the writer thread.
struct Retention {
    let connection: SQLiteConnection
    let settings: BufferSettings
    let storeID: String
    let logger: Logger

    struct Result {
        var evictedSent: UInt64 = 0
        var gaps: [StoredGap] = []
    }

    /// Size is counted as pages in use (page_count − freelist_count): deleted
    /// rows free pages that new rows reuse, so the file stops growing at the bound.
    func usedBytes() throws -> Int64 {
        let pageSize = try connection.scalarInt("PRAGMA page_size")
        let pages = try connection.scalarInt("PRAGMA page_count")
        let free = try connection.scalarInt("PRAGMA freelist_count")
        return (pages - free) * pageSize
    }

    func enforce(nowMilliseconds: Int64, lastSeq: UInt64) throws -> Result {
        var result = Result()
        // Age. Readings stamped before the clock was trusted carry 1970-ish
        // timestamps; they are not old, so age never evicts them (size still does).
        let cutoff = nowMilliseconds - settings.maxAge.milliseconds
        let unsynced = Int64(Quality.clockUnsynced.rawValue)
        try connection.transaction {
            let del = try connection.prepare("DELETE FROM records WHERE sent = 1 AND ts < ? AND quality != ?")
            del.bind(1, cutoff)
            del.bind(2, unsynced)
            try del.run()
            result.evictedSent += UInt64(connection.changes)
        }
        // Through the ts index: only rows older than the cutoff are visited, never the whole backlog.
        let oldPending = try connection.prepare("SELECT seq FROM records INDEXED BY records_ts WHERE ts < ? AND sent = 0 AND quality != ? ORDER BY seq LIMIT 100000")
        oldPending.bind(1, cutoff)
        oldPending.bind(2, unsynced)
        var seqs: [UInt64] = []
        while try oldPending.step() { seqs.append(UInt64(oldPending.int64(0))) }
        oldPending.reset()
        if !seqs.isEmpty {
            result.gaps += try evictPending(seqs, reason: .retention, now: nowMilliseconds, why: "older than buffer.max_age")
        }

        // Size: trim to 90 % of the bound so eviction happens in chunks, not on every pass.
        var used = try usedBytes()
        guard used > settings.maxSizeBytes else { return result }
        let target = settings.maxSizeBytes / 10 * 9
        var rounds = 0
        while used > target && rounds < 64 {
            rounds += 1
            let rows = max(try connection.scalarInt("SELECT count(*) FROM records"), 1)
            let bytesPerRow = max(used / rows, 16)
            let chunk = max((used - target) / bytesPerRow + 1, 500)
            let sentDeleted = try deleteOldestSent(limit: chunk)
            result.evictedSent += sentDeleted
            if sentDeleted == 0 {
                let pick = try connection.prepare("SELECT seq FROM records WHERE sent = 0 ORDER BY seq LIMIT ?")
                pick.bind(1, chunk)
                var pending: [UInt64] = []
                while try pick.step() { pending.append(UInt64(pick.int64(0))) }
                if pending.isEmpty { break }
                result.gaps += try evictPending(pending, reason: .retention, now: nowMilliseconds, why: "buffer over buffer.max_size")
            }
            used = try usedBytes()
        }
        if result.evictedSent > 0 {
            logger.info("retention removed sent records", metadata: ["rows": "\(result.evictedSent)"])
        }
        return result
    }

    private func deleteOldestSent(limit: Int64) throws -> UInt64 {
        try connection.transaction {
            let del = try connection.prepare("DELETE FROM records WHERE seq IN (SELECT seq FROM records WHERE sent = 1 ORDER BY seq LIMIT ?)")
            del.bind(1, limit)
            try del.run()
            return UInt64(connection.changes)
        }
    }

    /// Deletes pending records and records their runs as gaps, in one transaction.
    private func evictPending(_ seqs: [UInt64], reason: SequenceGap.Reason, now: Int64, why: String) throws -> [StoredGap] {
        let runs = SequenceRuns.runs(of: seqs)
        var gaps: [StoredGap] = []
        try connection.transaction {
            let del = try connection.prepare("DELETE FROM records WHERE seq BETWEEN ? AND ? AND sent = 0")
            let ins = try connection.prepare("INSERT INTO gaps(first_seq, last_seq, count, reason, at_ms) VALUES (?, ?, ?, ?, ?)")
            for run in runs {
                del.bind(1, Int64(run.lowerBound))
                del.bind(2, Int64(run.upperBound))
                try del.run()
                let count = UInt64(connection.changes)
                ins.bind(1, Int64(run.lowerBound))
                ins.bind(2, Int64(run.upperBound))
                ins.bind(3, Int64(count))
                ins.bind(4, reason.rawValue)
                ins.bind(5, now)
                try ins.run()
                let gap = SequenceGap(store: storeID, from: run.lowerBound, to: run.upperBound, count: count, reason: reason)
                gaps.append(StoredGap(id: sqlite3_last_insert_rowid(connection.handle), gap: gap))
            }
        }
        let total = gaps.reduce(0) { $0 + $1.gap.count }
        logger.error("retention evicted unsent records (announced on gaps)",
                     metadata: ["rows": "\(total)", "ranges": "\(gaps.count)", "why": "\(why)",
                                "first_seq": "\(runs.first?.lowerBound ?? 0)", "last_seq": "\(runs.last?.upperBound ?? 0)"])
        return gaps
    }
}
