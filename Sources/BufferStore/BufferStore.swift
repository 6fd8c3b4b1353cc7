import CSQLite
import GatewayModel
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Receives what the store writer has committed. Called on the writer thread,
/// in `seq` order, right after each commit; must not block (hand work on with
/// a non-blocking offer).
public protocol CommitObserver: AnyObject {
    func didCommit(_ records: [StoredRecord])
    /// A range of `seq` that will never be sent was recorded (retention, disk full).
    func didRecordGap(_ gap: StoredGap)
    /// Called on the writer thread every few seconds, with or without new records,
    /// so time-driven work (a detector noticing silence) happens without data.
    func tick(wallMilliseconds: Int64)
}

extension CommitObserver {
    public func tick(wallMilliseconds: Int64) {}
}

/// A point to register before the writer starts.
public struct PointRegistration: Sendable {
    public var device: String
    public var deviceKind: DeviceKind
    public var point: String
    public var unit: String
    public init(device: String, deviceKind: DeviceKind, point: String, unit: String) {
        self.device = device
        self.deviceKind = deviceKind
        self.point = point
        self.unit = unit
    }
}

/// What the writer has done so far, for status, metrics and the watchdog.
public struct WriterStatistics: Sendable, Equatable {
    public var recordsCommitted: UInt64 = 0
    public var commitGroups: UInt64 = 0
    public var lastSeq: UInt64 = 0
    /// Records numbered but not yet written because the disk is full.
    public var heldInMemory: Int = 0
    public var diskFull = false
    /// Unsent records removed by retention or lost to a full memory queue, since start.
    public var evictedUnsent: UInt64 = 0
    public var evictedSent: UInt64 = 0
    public var lastProgressMonotonicNanoseconds: UInt64 = 0
}

/// The durable buffer: one SQLite database in WAL mode, one writer thread.
///
/// Readings enter through a bounded queue (`submit` blocks when it is full, so
/// a bus waits rather than a reading being dropped); the writer commits them in
/// groups, numbers them with the gateway-wide `seq`, and hands each committed
/// group to the `CommitObserver` (detection, then the uplink). Acknowledgements,
/// alarms and housekeeping enter through a small non-blocking inbox so the
/// writer never waits on the stages it feeds.
public final class BufferStore: @unchecked Sendable {
    // Invariant: `connection`, the statements and the `writer*` fields are used
    // only on the writer thread once `start` has run (before it, only by the
    // thread that opened the store). `stats` and `inbox` are guarded by `lock`.

    public let storeID: String
    public let path: String
    public let settings: BufferSettings
    /// Things a maintainer should know about how the store was opened (e.g. a damaged file moved aside).
    public let openingNotes: [String]
    /// When this store replaced a damaged one: the old store's id ("unknown" if unreadable), announced on `status`.
    public let previousStore: String?

    private let connection: SQLiteConnection
    private let clock: GatewayClock
    private let logger: Logger
    private let ingress: BoundedQueue<Ingress>
    private let lock = ConditionLock()
    private var inbox: [Control] = []
    private var stats = WriterStatistics()
    private var thread: OwnerThread?
    private weak var observer: CommitObserver?

    // Writer-thread state.
    private var lastSeq: UInt64
    private var held: [StoredRecord] = []
    private var heldGaps: [SequenceGap] = []
    private var lastSyncMonotonic: UInt64 = 0
    /// A normal-mode commit whose WAL pages are not yet fsynced.
    private var unsyncedCommit = false
    private var lastHousekeeping: UInt64 = 0
    private var diskFullSince: UInt64?
    /// While the disk is full, the next commit attempt is not before this (monotonic ns).
    private var nextDiskRetry: UInt64 = 0
    /// Acknowledgements, gap marks and state that could not be written yet (disk full); retried with the next group.
    private var deferredDelivered: [UInt64] = []
    private var deferredGapIDs: [Int64] = []
    private var deferredDetectorState: [String: [UInt8]] = [:]
    /// Alarm-table updates and audit rows of a commit that failed; they go with the retry.
    private var deferredAlarmRows: [(StoredRecord, AlarmTransition)] = []
    private var deferredAudits: [AuditRow] = []
    /// Set while commits fail for another reason than a full disk (e.g. the file locked by another process).
    private var writeFailingSince: UInt64?

    typealias AuditRow = (action: String, detail: String, rows: Int64, actor: AuditActor, atMilliseconds: Int64)
    /// Records stamped before the wall clock was trusted, during this run: their
    /// seq span and the wall − monotonic offset (ms) while they were stamped.
    private var unsynced: (firstSeq: UInt64, lastSeq: UInt64, wallMinusMonotonic: Int64)?
    private var lastTrustCheck: UInt64 = 0
    /// Readings dropped from the full memory queue since the last summary line.
    private var droppedSinceLastLog: UInt64 = 0
    private var lastDropLog: UInt64 = 0
    private var pointNames: [PointID: String] = [:]

    fileprivate enum Ingress {
        case readings([Reading])
        case event(DeviceEvent, detail: String)
        /// Runs after everything queued before it was committed (it travels in the same queue, so in order).
        case barrier(@Sendable () -> Void)
    }

    private enum Control {
        case alarm(AlarmTransition)
        case delivered([UInt64])
        case gapsAnnounced([Int64])
        case detectorState([String: [UInt8]])
        case audit(action: String, detail: String, rows: Int64, actor: AuditActor, atMilliseconds: Int64)
    }

    /// A `normal` store fsyncs its WAL this long after the last sync at the latest once commits
    /// wait for it; with the writer waking twice a second, no gap exceeds one second.
    static let syncDueNanoseconds: UInt64 = 500_000_000

    // MARK: Opening

    /// Opens (or creates) the buffer at `path`. A file that is not a usable
    /// database is moved aside to `path.corrupt-<ms>` (never deleted) and a new
    /// store with a new `store` id takes its place; `openingNotes` says so.
    /// Blocks the caller (file I/O); call it at startup.
    public static func open(path: String, settings: BufferSettings, clock: GatewayClock = SystemClock(),
                            logger: Logger, ingressCapacity: Int = 4096) throws -> BufferStore {
        var notes: [String] = []
        var previousStore: String?
        let connection: SQLiteConnection
        do {
            try checkNotTruncated(path: path)
            connection = try openAndMigrate(path: path, settings: settings)
        } catch let error as StoreError {
            guard case .corrupt = error else { throw error }
            previousStore = salvageStoreID(path: path)
            let aside = "\(path).corrupt-\(clock.wallMilliseconds())"
            for suffix in ["", "-wal", "-shm"] {
                _ = rename(path + suffix, aside + suffix)
            }
            notes.append("the buffer \(path) was damaged (\(error)); moved it aside to \(aside) and started a new store")
            logger.error("buffer damaged, moved aside", metadata: ["path": "\(path)", "moved_to": "\(aside)", "error": "\(error)",
                                                                   "previous_store": "\(previousStore ?? "unreadable")"])
            connection = try openAndMigrate(path: path, settings: settings)
            // A placeholder so a new store always says it replaced a damaged one, even when the old id was unreadable.
            previousStore = previousStore ?? "unknown"
        }
        let storeID = try connection.scalarText("SELECT value FROM meta WHERE key = 'store_id'") ?? ""
        let lastSeq = UInt64(try connection.scalarText("SELECT value FROM meta WHERE key = 'last_seq'") ?? "0") ?? 0
        return BufferStore(connection: connection, storeID: storeID, lastSeq: lastSeq, path: path, settings: settings,
                           clock: clock, logger: logger, notes: notes, previousStore: previousStore, ingressCapacity: ingressCapacity)
    }

    /// A database file shorter than its header says was cut off (a full disk or
    /// a bad SD card); SQLite may open it and fail only much later, so look first.
    static func checkNotTruncated(path: String) throws {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { return }  // absent: a new store
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        let n = read(fd, &header, 100)
        var st = stat()
        fstat(fd, &st)
        guard n == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            if n > 0 { throw StoreError.corrupt(path: path, detail: "not an SQLite database") }
            return  // empty file: SQLite makes a new database in it
        }
        var pageSize = Int(header[16]) << 8 | Int(header[17])
        if pageSize == 1 { pageSize = 65536 }
        let pages = Int(header[28]) << 24 | Int(header[29]) << 16 | Int(header[30]) << 8 | Int(header[31])
        // The in-header size is valid only when the change counter matches "version-valid-for".
        let valid = header[24..<28] == header[92..<96]
        if valid && pages > 0 && Int(st.st_size) < pages * pageSize {
            throw StoreError.corrupt(path: path, detail: "the file is \(st.st_size) bytes but its header says \(pages * pageSize): truncated")
        }
    }

    /// Reads the old store id from a damaged file if SQLite still can, so the new store can name it.
    static func salvageStoreID(path: String) -> String? {
        guard let c = try? SQLiteConnection(path: path, readOnly: true, create: false) else { return nil }
        return (try? c.scalarText("SELECT value FROM meta WHERE key = 'store_id'")) ?? nil
    }

    static func openAndMigrate(path: String, settings: BufferSettings) throws -> SQLiteConnection {
        let c = try SQLiteConnection(path: path)
        try c.execute("PRAGMA busy_timeout = 5000")
        // Reading the schema is the first thing that touches the file: a damaged or foreign file fails here.
        let version = Int(try c.scalarInt("PRAGMA user_version"))
        if version > Schema.version {
            throw StoreError.newerSchema(path: path, found: version, supported: Schema.version)
        }
        let mode = try c.scalarText("PRAGMA journal_mode = WAL")
        if mode?.lowercased() != "wal" {
            throw StoreError.cannotOpen(path: path, detail: "WAL mode unavailable (journal_mode=\(mode ?? "?"))")
        }
        try c.execute("PRAGMA synchronous = \(settings.durability == .full ? "FULL" : "NORMAL")")
        try c.execute("PRAGMA journal_size_limit = 67108864")
        try c.execute("PRAGMA foreign_keys = OFF")
        // Appends touch only the right edge of three B-trees; a 2 MB default
        // page cache would be an eighth of the daemon's memory budget for nothing.
        try c.execute("PRAGMA cache_size = -\(SQLiteConnection.writerCacheKilobytes)")
        if version < Schema.version {
            try c.transaction {
                try c.execute(Schema.create)
                let id = newStoreID()
                try c.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', '\(id)'), ('last_seq', '0'), ('created_ms', '\(SystemClock().wallMilliseconds())')")
                try c.execute("PRAGMA user_version = \(Schema.version)")
            }
        }
        // A quick structural check: a truncated file often opens and fails only on first real read.
        _ = try c.scalarInt("SELECT count(*) FROM meta")
        return c
    }

    /// 128 random bits as 32 hex digits.
    static func newStoreID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        sqlite3_randomness(16, &bytes)
        return bytes.map { String(format2hex: $0) }.joined()
    }

    private init(connection: SQLiteConnection, storeID: String, lastSeq: UInt64, path: String, settings: BufferSettings,
                 clock: GatewayClock, logger: Logger, notes: [String], previousStore: String?, ingressCapacity: Int) {
        self.previousStore = previousStore
        self.connection = connection
        self.storeID = storeID
        self.lastSeq = lastSeq
        self.path = path
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.openingNotes = notes
        self.ingress = BoundedQueue(capacity: ingressCapacity)
        stats.lastSeq = lastSeq
    }

    // MARK: Points

    /// Gives every configured point its stable id (creating rows for new ones)
    /// and returns the catalog of all points this store knows. Call before `start`.
    ///
    /// While the writer runs (a configuration reload adding devices), the work
    /// is done on the writer thread, after everything queued before it, and the
    /// caller blocks until it is done. Never call it on the writer thread.
    public func registerPoints(_ points: [PointRegistration]) throws -> PointCatalog {
        guard thread != nil else { return try registerPointsOnOwner(points) }
        final class Outcome: @unchecked Sendable {
            // Invariant: written on the writer thread before `done` opens, read after.
            var result: Result<PointCatalog, Error> = .failure(StoreError.sqlite(code: 0, message: "the store stopped", doing: "registering points"))
            let done = Latch()
        }
        let outcome = Outcome()
        flush { [self] in
            outcome.result = Result { try registerPointsOnOwner(points) }
            outcome.done.open()
        }
        outcome.done.wait()
        return try outcome.result.get()
    }

    private func registerPointsOnOwner(_ points: [PointRegistration]) throws -> PointCatalog {
        let insert = try connection.prepare("INSERT INTO points(device, point, device_kind, unit) VALUES (?, ?, ?, ?) ON CONFLICT(device, point) DO UPDATE SET device_kind = excluded.device_kind, unit = excluded.unit")
        try connection.transaction {
            for p in points {
                insert.bind(1, p.device)
                insert.bind(2, p.point)
                insert.bind(3, p.deviceKind.rawValue)
                insert.bind(4, p.unit)
                try insert.run()
            }
        }
        let catalog = try BufferQueries.catalog(connection)
        for d in catalog.descriptors { pointNames[d.id] = d.point }
        return catalog
    }

    /// The detectors' saved learning state.
    public func loadDetectorState() throws -> [String: [UInt8]] {
        let s = try connection.prepare("SELECT key, state FROM detector_state")
        var out: [String: [UInt8]] = [:]
        while try s.step() { out[s.text(0) ?? ""] = s.blob(1) }
        return out
    }

    /// Gaps recorded but not yet acknowledged by the broker, oldest first.
    public func unannouncedGaps() throws -> [StoredGap] {
        try BufferQueries.unannouncedGaps(connection, store: storeID)
    }

    // MARK: Running

    /// Starts the writer thread. `observer` is held weakly.
    public func start(observer: CommitObserver?) {
        precondition(thread == nil)
        self.observer = observer
        lastSyncMonotonic = clock.monotonicNanoseconds()
        lastHousekeeping = 0
        let t = OwnerThread(name: "store-writer") { [self] in writerLoop() }
        thread = t
        t.start()
    }

    /// Queues one poll's readings. Blocks while the queue is full (the writer
    /// is behind): the bus waits instead of a reading being lost. Returns false
    /// after `stop`, when nothing is accepted any more.
    @discardableResult
    public func submit(readings: [Reading]) -> Bool {
        ingress.put(.readings(readings))
    }

    /// Queues an event (same policy as readings).
    @discardableResult
    public func submit(event: DeviceEvent, point: String) -> Bool {
        ingress.put(.event(event, detail: RecordDetail.event(point: point, state: event.state)))
    }

    /// Stores an alarm transition with the next group. Never blocks: alarms are
    /// few (one active per detector and point), and the writer itself raises them.
    public func submit(alarm: AlarmTransition) {
        enqueueControl(.alarm(alarm))
    }

    /// Marks records sent (their PUBACK arrived). Never blocks.
    public func markDelivered(_ seqs: [UInt64]) {
        guard !seqs.isEmpty else { return }
        enqueueControl(.delivered(seqs))
    }

    /// Marks gaps announced (the broker acknowledged the `gaps` message). Never blocks.
    public func markGapsAnnounced(_ ids: [Int64]) {
        guard !ids.isEmpty else { return }
        enqueueControl(.gapsAnnounced(ids))
    }

    public func saveDetectorState(_ state: [String: [UInt8]]) {
        enqueueControl(.detectorState(state))
    }

    /// Appends a row to the audit log (resend, reload…) with the next group. Never blocks.
    public func recordAudit(action: String, detail: String, rows: Int64, actor: AuditActor) {
        enqueueControl(.audit(action: action, detail: detail, rows: rows, actor: actor, atMilliseconds: clock.wallMilliseconds()))
    }

    /// Calls `done` on the writer thread once everything submitted before this call
    /// (readings, events, acknowledgements, alarms) has been committed — or tried, when
    /// the disk is full. Blocks while the ingress queue is full; after `stop`, calls `done` at once.
    public func flush(_ done: @escaping @Sendable () -> Void) {
        if !ingress.put(.barrier(done), urgent: true) { done() }
    }

    /// Blocks the caller until everything submitted before this call is committed
    /// and handed to the observer. Must not be called on the writer thread.
    public func flushAndWait() {
        let latch = Latch()
        flush { latch.open() }
        latch.wait()
    }

    /// Stops accepting, commits everything queued, and joins the writer. Blocks the caller.
    public func stop() {
        ingress.close()
        lock.withLock { lock.broadcast() }
        thread?.join()
        thread = nil
    }

    public func statistics() -> WriterStatistics {
        lock.withLock { stats }
    }


    private func enqueueControl(_ c: Control) {
        lock.withLock { inbox.append(c) }
        // Wake the writer if it sleeps on an empty ingress queue.
        ingress.wake()
    }

    // MARK: The writer thread

    private lazy var insertRecord: SQLiteStatement = try! connection.prepare(
        "INSERT INTO records(seq, kind, point_id, ts, value, quality, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
    /// Rows per multi-row INSERT (7 parameters each; well under SQLite's 32766-parameter limit).
    static let rowsPerInsert = 32
    private lazy var insertRecordBlock: SQLiteStatement = try! connection.prepare(
        "INSERT INTO records(seq, kind, point_id, ts, value, quality, detail) VALUES "
            + Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: BufferStore.rowsPerInsert).joined(separator: ", "))

    private func bindRecord(_ s: SQLiteStatement, _ r: StoredRecord, at base: Int32) {
        s.bind(base + 1, Int64(r.seq))
        s.bind(base + 2, Int64(r.kind.rawValue))
        s.bind(base + 3, Int64(r.pointID))
        s.bind(base + 4, r.timestampMilliseconds)
        s.bind(base + 5, r.value)
        s.bind(base + 6, Int64(r.quality.rawValue))
        s.bind(base + 7, r.detail)
    }
    private lazy var markSent: SQLiteStatement = try! connection.prepare("UPDATE records SET sent = 1 WHERE seq = ? AND sent = 0")
    private lazy var markSentRange: SQLiteStatement = try! connection.prepare("UPDATE records SET sent = 1 WHERE seq BETWEEN ? AND ? AND sent = 0")
    private lazy var updateLastSeq: SQLiteStatement = try! connection.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'")
    private lazy var upsertAlarm: SQLiteStatement = try! connection.prepare("""
        INSERT INTO alarms(alarm_id, type, severity, state, point_id, raised_ms, changed_ms, value, message, seq)
        VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?4 = 'raised' THEN ?6 ELSE NULL END, ?6, ?7, ?8, ?9)
        ON CONFLICT(alarm_id) DO UPDATE SET type = excluded.type, severity = excluded.severity, state = excluded.state,
            point_id = excluded.point_id, raised_ms = CASE WHEN excluded.state = 'raised' THEN excluded.changed_ms ELSE alarms.raised_ms END,
            changed_ms = excluded.changed_ms, value = excluded.value, message = excluded.message, seq = excluded.seq
        """)
    private lazy var insertGap: SQLiteStatement = try! connection.prepare(
        "INSERT INTO gaps(first_seq, last_seq, count, reason, at_ms) VALUES (?, ?, ?, ?, ?)")
    private lazy var markGap: SQLiteStatement = try! connection.prepare("UPDATE gaps SET announced = 1 WHERE id = ?")
    private lazy var insertAudit: SQLiteStatement = try! connection.prepare(
        "INSERT INTO audit(at_ms, uid, user, action, detail, rows) VALUES (?, ?, ?, ?, ?, ?)")
    private lazy var upsertDetectorState: SQLiteStatement = try! connection.prepare(
        "INSERT INTO detector_state(key, state, updated_ms) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms")

    private func writerLoop() {
        while true {
            let now = clock.monotonicNanoseconds()
            // Wake at least twice a second: the normal-mode sync, housekeeping, disk-full retries.
            let wake = now + 500_000_000
            var commands = ingress.take(max: 1, untilMonotonicNanoseconds: wake)
            // Group commit: the group closes at `commit_max_records` records or when its first
            // record has waited `commit_max_delay`, whichever comes first. Fewer, larger commits
            // cost less CPU and far fewer WAL writes (flash wear) on a box polling many devices.
            var count = commands.first?.recordCount ?? 0
            if !commands.isEmpty {
                let closeAt = clock.monotonicNanoseconds() + UInt64(max(0, settings.commitMaxDelay.nanoseconds))
                while count < settings.commitMaxRecords {
                    if let next = ingress.drain(max: 1).first {
                        commands.append(next)
                        count += next.recordCount
                        if case .barrier = next { break }  // someone waits for this group: close it now
                        continue
                    }
                    if ingress.isClosed || clock.monotonicNanoseconds() >= closeAt { break }
                    // Sleep until the group could be full (judged by the records per command so far),
                    // a barrier arrives or the delay ends, instead of waking for every poll.
                    let perCommand = max(1, count / commands.count)
                    let expected = (settings.commitMaxRecords - count + perCommand - 1) / perCommand
                    let more = ingress.take(max: 1, untilMonotonicNanoseconds: closeAt, gathering: expected)
                    guard let next = more.first else { continue }
                    commands.append(next)
                    count += next.recordCount
                    if case .barrier = next { break }
                }
            }
            let controls: [Control] = lock.withLock { let c = inbox; inbox.removeAll(keepingCapacity: true); return c }
            let closing = ingress.isClosed && ingress.depth == 0
            commitGroup(commands, controls, finalAttempt: closing)
            syncIfDue()
            correctUnsyncedTimestampsIfClockTrusted()
            housekeepingIfDue()
            if closing { break }
        }
        if !held.isEmpty {
            // The disk stayed full to the end: these were numbered but never written nor sent.
            // Nobody has seen their seqs, so the next start numbers from the last committed one.
            logger.critical("stopping with records that could not be written (disk full)", metadata: ["records": "\(held.count)"])
        }
        try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }

    private func commitGroup(_ commands: [Ingress], _ controls: [Control], finalAttempt: Bool = false) {
        let wallNow = clock.wallMilliseconds()
        // Number the new records: numbering happens once; a record keeps its seq even if the commit must be retried.
        var fresh: [StoredRecord] = []
        fresh.reserveCapacity(commands.reduce(0) { $0 + $1.recordCount })
        var barriers: [@Sendable () -> Void] = []
        for command in commands {
            switch command {
            case .barrier(let b):
                barriers.append(b)
            case .readings(let readings):
                for r in readings {
                    lastSeq += 1
                    fresh.append(StoredRecord(seq: lastSeq, kind: .reading, pointID: r.pointID,
                                              timestampMilliseconds: r.timestampMilliseconds, value: r.value, quality: r.quality))
                }
            case .event(let e, let detail):
                lastSeq += 1
                fresh.append(StoredRecord(seq: lastSeq, kind: .event, pointID: e.pointID, timestampMilliseconds: e.timestampMilliseconds,
                                          value: e.value, quality: e.quality, detail: detail))
            }
        }
        var delivered = deferredDelivered
        var gapIDs = deferredGapIDs
        var detectorState = deferredDetectorState
        deferredDelivered.removeAll()
        deferredGapIDs.removeAll()
        deferredDetectorState.removeAll()
        var audits = deferredAudits
        var alarms = deferredAlarmRows
        deferredAudits.removeAll()
        deferredAlarmRows.removeAll()
        for c in controls {
            switch c {
            case .alarm(let a):
                lastSeq += 1
                let detail = RecordDetail.alarm(a, point: pointNames[a.pointID] ?? "")
                let record = StoredRecord(seq: lastSeq, kind: .alarm, pointID: a.pointID, timestampMilliseconds: a.timestampMilliseconds,
                                          value: a.value, quality: .good, detail: detail)
                fresh.append(record)
                alarms.append((record, a))
            case .delivered(let seqs): delivered.append(contentsOf: seqs)
            case .gapsAnnounced(let ids): gapIDs.append(contentsOf: ids)
            case .detectorState(let s): detectorState.merge(s) { $1 }
            case .audit(let action, let detail, let rows, let actor, let at): audits.append((action, detail, rows, actor, at))
            }
        }
        let toWrite = held + fresh
        let gapsToWrite = heldGaps
        // Barriers mean "after the writer has tried everything submitted before": they never wait for a full disk.
        defer { barriers.forEach { $0() } }
        if toWrite.isEmpty && gapsToWrite.isEmpty && delivered.isEmpty && gapIDs.isEmpty && detectorState.isEmpty && audits.isEmpty {
            markProgress()
            return
        }
        let monoNow = clock.monotonicNanoseconds()
        let work = HeldWork(records: toWrite, gaps: gapsToWrite, delivered: delivered, gapIDs: gapIDs,
                            detectorState: detectorState, alarms: alarms, audits: audits)
        if (diskFullSince != nil || writeFailingSince != nil) && monoNow < nextDiskRetry && !finalAttempt {
            // Commits are failing and the next retry is not due: keep everything for later, in memory.
            holdInMemory(work, diskFull: diskFullSince != nil)
            return
        }
        // Normal durability: an fsync of the WAL at most once per interval bounds what a power cut can take.
        let syncNow = settings.durability == .normal && monoNow &- lastSyncMonotonic >= BufferStore.syncDueNanoseconds
        var recordedGaps: [StoredGap] = []
        do {
            if syncNow { try connection.execute("PRAGMA synchronous = FULL") }
            defer { if syncNow { try? connection.execute("PRAGMA synchronous = NORMAL") } }
            try connection.transaction {
                for g in gapsToWrite {
                    recordedGaps.append(StoredGap(id: try writeGap(g, at: wallNow), gap: g))
                }
                // Whole blocks of rows per statement (less per-statement work), then the rest one by one.
                var i = 0
                let block = BufferStore.rowsPerInsert
                while toWrite.count - i >= block {
                    for k in 0..<block { bindRecord(insertRecordBlock, toWrite[i + k], at: Int32(k * 7)) }
                    try insertRecordBlock.run()
                    i += block
                }
                while i < toWrite.count {
                    bindRecord(insertRecord, toWrite[i], at: 0)
                    try insertRecord.run()
                    i += 1
                }
                for (record, a) in alarms {
                    upsertAlarm.bind(1, a.alarmID)
                    upsertAlarm.bind(2, a.type)
                    upsertAlarm.bind(3, a.severity.rawValue)
                    upsertAlarm.bind(4, a.state.rawValue)
                    upsertAlarm.bind(5, Int64(a.pointID))
                    upsertAlarm.bind(6, a.timestampMilliseconds)
                    upsertAlarm.bind(7, a.value)
                    upsertAlarm.bind(8, a.message)
                    upsertAlarm.bind(9, Int64(record.seq))
                    try upsertAlarm.run()
                }
                try writeDelivered(delivered)
                for id in gapIDs {
                    markGap.bind(1, id)
                    try markGap.run()
                }
                for a in audits {
                    insertAudit.bind(1, a.atMilliseconds)
                    insertAudit.bind(2, a.actor.uid)
                    insertAudit.bind(3, a.actor.user)
                    insertAudit.bind(4, a.action)
                    insertAudit.bind(5, a.detail)
                    insertAudit.bind(6, a.rows)
                    try insertAudit.run()
                }
                for (key, blob) in detectorState {
                    upsertDetectorState.bind(1, key)
                    upsertDetectorState.bind(2, blob: blob)
                    upsertDetectorState.bind(3, wallNow)
                    try upsertDetectorState.run()
                }
                if !toWrite.isEmpty || !gapsToWrite.isEmpty {
                    updateLastSeq.bind(1, String(lastSeq))
                    try updateLastSeq.run()
                }
            }
            if syncNow { lastSyncMonotonic = monoNow; unsyncedCommit = false } else if settings.durability == .normal { unsyncedCommit = true }
            if writeFailingSince != nil {
                logger.notice("buffer writes work again; held records written", metadata: ["records": "\(held.count)"])
                writeFailingSince = nil
            }
            if diskFullSince != nil {
                logger.notice("disk has space again; held records written",
                              metadata: ["records": "\(held.count)", "dropped_since_last_summary": "\(droppedSinceLastLog)"])
                diskFullSince = nil
                droppedSinceLastLog = 0
            }
            held.removeAll()
            heldGaps.removeAll()
            lock.withLock {
                stats.recordsCommitted += UInt64(toWrite.count)
                stats.commitGroups += 1
                stats.lastSeq = lastSeq
                stats.heldInMemory = 0
                stats.diskFull = false
                stats.lastProgressMonotonicNanoseconds = monoNow
            }
            noteUnsynced(toWrite)
            for g in recordedGaps { observer?.didRecordGap(g) }
            if !toWrite.isEmpty { observer?.didCommit(toWrite) }
        } catch let error as StoreError {
            nextDiskRetry = monoNow + 1_000_000_000
            if case .diskFull = error {
                holdInMemory(work, diskFull: true)
                // Deleting sent rows frees pages inside the file, which the next attempt can use.
                enforceRetention(force: true)
            } else {
                // Anything else (the file locked by another process, an I/O error): the same
                // bounded holding, retried once a second, logged once.
                if writeFailingSince == nil {
                    writeFailingSince = monoNow
                    logger.error("buffer writes fail; holding new readings in memory and retrying every second",
                                 metadata: ["error": "\(error)", "memory_queue_records": "\(settings.memoryQueueRecords)"])
                }
                holdInMemory(work, diskFull: false)
            }
        } catch {
            nextDiskRetry = monoNow + 1_000_000_000
            if writeFailingSince == nil {
                writeFailingSince = monoNow
                logger.error("buffer writes fail; holding new readings in memory and retrying every second", metadata: ["error": "\(error)"])
            }
            holdInMemory(work, diskFull: false)
        }
    }

    /// Everything one commit would have written, kept whole for the retry.
    struct HeldWork {
        var records: [StoredRecord]
        var gaps: [SequenceGap]
        var delivered: [UInt64]
        var gapIDs: [Int64]
        var detectorState: [String: [UInt8]]
        var alarms: [(StoredRecord, AlarmTransition)]
        var audits: [AuditRow]
    }

    private func writeDelivered(_ seqs: [UInt64]) throws {
        guard !seqs.isEmpty else { return }
        // Acknowledged batches are often runs of consecutive seqs: one range update per run.
        let sorted = seqs.sorted()
        var start = sorted[0], end = sorted[0]
        func flush() throws {
            if start == end {
                markSent.bind(1, Int64(start))
                try markSent.run()
            } else {
                markSentRange.bind(1, Int64(start))
                markSentRange.bind(2, Int64(end))
                try markSentRange.run()
            }
        }
        for s in sorted.dropFirst() {
            if s == end || s == end + 1 { end = s; continue }
            try flush()
            start = s; end = s
        }
        try flush()
    }

    private func writeGap(_ g: SequenceGap, at wallNow: Int64) throws -> Int64 {
        insertGap.bind(1, Int64(g.from))
        insertGap.bind(2, Int64(g.to))
        insertGap.bind(3, Int64(g.count))
        insertGap.bind(4, g.reason.rawValue)
        insertGap.bind(5, wallNow)
        try insertGap.run()
        return sqlite3_last_insert_rowid(connection.handle)
    }

    /// Commits fail (a full disk, or the file unwritable): keep the newest records
    /// in memory (bounded), drop the oldest beyond the bound as an announced gap.
    /// Logs once on entering, then a summary of drops at most every 30 s — never a
    /// line per reading.
    private func holdInMemory(_ work: HeldWork, diskFull: Bool) {
        let now = clock.monotonicNanoseconds()
        if diskFull && diskFullSince == nil {
            diskFullSince = now
            logger.critical("disk full: holding new readings in memory and evicting per retention",
                            metadata: ["path": "\(path)", "memory_queue_records": "\(settings.memoryQueueRecords)"])
        }
        let reason: SequenceGap.Reason = diskFull ? .diskFull : .writeFailed
        held = work.records
        heldGaps = work.gaps
        deferredAlarmRows = work.alarms
        deferredAudits = work.audits
        if held.count > settings.memoryQueueRecords {
            let overflow = held.count - settings.memoryQueueRecords
            let dropped = held.prefix(overflow)
            held.removeFirst(overflow)
            for run in SequenceRuns.runs(of: dropped.map(\.seq)) {
                // Adjacent drops extend the last gap instead of adding one per commit attempt.
                if let last = heldGaps.last, last.reason == reason, last.to + 1 == run.lowerBound {
                    heldGaps[heldGaps.count - 1].to = run.upperBound
                    heldGaps[heldGaps.count - 1].count += run.upperBound - run.lowerBound + 1
                } else {
                    heldGaps.append(SequenceGap(store: storeID, from: run.lowerBound, to: run.upperBound,
                                                count: run.upperBound - run.lowerBound + 1, reason: reason))
                }
            }
            lock.withLock { stats.evictedUnsent += UInt64(overflow) }
            droppedSinceLastLog += UInt64(overflow)
            if now &- lastDropLog >= 30_000_000_000 {
                lastDropLog = now
                logger.error("buffer not writable and memory queue full: oldest held readings dropped (announced on gaps)",
                             metadata: ["dropped": "\(droppedSinceLastLog)"])
                droppedSinceLastLog = 0
            }
        }
        deferredDelivered += work.delivered
        deferredGapIDs += work.gapIDs
        deferredDetectorState.merge(work.detectorState) { $1 }
        lock.withLock {
            stats.heldInMemory = held.count
            stats.diskFull = diskFull
            stats.lastProgressMonotonicNanoseconds = now
        }
    }

    /// Normal durability: when commits wait for an fsync and no new commit comes to
    /// carry one, the WAL file is synced directly, so the loss window holds even
    /// when readings stop (a slow poll interval, a quiet parking row). Linux syncs
    /// the file, not the descriptor, so a descriptor of our own is enough.
    private func syncIfDue() {
        guard unsyncedCommit else { return }
        let now = clock.monotonicNanoseconds()
        guard now &- lastSyncMonotonic >= BufferStore.syncDueNanoseconds else { return }
        let fd = Glibc.open(path + "-wal", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        if fdatasync(fd) == 0 {
            lastSyncMonotonic = now
            unsyncedCommit = false
        }
    }

    private func wallMinusMonotonicMilliseconds() -> Int64 {
        clock.wallMilliseconds() - Int64(clock.monotonicNanoseconds() / 1_000_000)
    }

    private func noteUnsynced(_ records: [StoredRecord]) {
        for r in records where r.quality == .clockUnsynced {
            if let u = unsynced {
                unsynced = (min(u.firstSeq, r.seq), max(u.lastSeq, r.seq), u.wallMinusMonotonic)
            } else {
                unsynced = (r.seq, r.seq, wallMinusMonotonicMilliseconds())
            }
        }
    }

    /// Once the clock is trusted, readings stamped before are moved by the
    /// amount the wall clock jumped (measured against the monotonic clock,
    /// which never jumps). Their quality stays `clock_unsynced` so a
    /// subscriber knows the time was reconstructed. Rows already sent keep the
    /// time they were sent with; a resend carries the corrected one. Rows of an
    /// earlier boot cannot be corrected (the monotonic clock restarted).
    private func correctUnsyncedTimestampsIfClockTrusted() {
        guard let u = unsynced else { return }
        let now = clock.monotonicNanoseconds()
        guard now &- lastTrustCheck >= 1_000_000_000 else { return }
        lastTrustCheck = now
        guard clock.isWallClockTrusted() else { return }
        let shift = wallMinusMonotonicMilliseconds() - u.wallMinusMonotonic
        unsynced = nil
        guard abs(shift) >= 1000 else { return }
        do {
            let rows: Int = try connection.transaction {
                let s = try connection.prepare("UPDATE records SET ts = ts + ? WHERE seq BETWEEN ? AND ? AND quality = ?")
                s.bind(1, shift)
                s.bind(2, Int64(u.firstSeq))
                s.bind(3, Int64(u.lastSeq))
                s.bind(4, Int64(Quality.clockUnsynced.rawValue))
                try s.run()
                return connection.changes
            }
            logger.notice("clock is now trusted: corrected the timestamps of readings taken before",
                          metadata: ["rows": "\(rows)", "shift_ms": "\(shift)", "first_seq": "\(u.firstSeq)", "last_seq": "\(u.lastSeq)"])
        } catch {
            logger.error("could not correct timestamps of readings taken before the clock was trusted", metadata: ["error": "\(error)"])
        }
    }

    private func markProgress() {
        let now = clock.monotonicNanoseconds()
        lock.withLock { stats.lastProgressMonotonicNanoseconds = now }
    }

    private func housekeepingIfDue() {
        let now = clock.monotonicNanoseconds()
        guard now &- lastHousekeeping >= 5_000_000_000 else { return }
        lastHousekeeping = now
        enforceRetention(force: false)
        observer?.tick(wallMilliseconds: clock.wallMilliseconds())
        markProgress()
    }

    /// Applies `max_size` and `max_age`: sent rows go first, then the oldest
    /// pending ones, each removed pending range recorded as a gap.
    func enforceRetention(force: Bool) {
        do {
            let retention = Retention(connection: connection, settings: settings, storeID: storeID, logger: logger)
            let result = try retention.enforce(nowMilliseconds: clock.wallMilliseconds(), lastSeq: lastSeq)
            if result.evictedSent > 0 || !result.gaps.isEmpty {
                lock.withLock {
                    stats.evictedSent += result.evictedSent
                    stats.evictedUnsent += result.gaps.reduce(0) { $0 + $1.gap.count }
                }
            }
            for g in result.gaps { observer?.didRecordGap(g) }
        } catch {
            if !force { logger.warning("retention pass failed", metadata: ["error": "\(error)"]) }
        }
    }
}

private extension String {
    init(format2hex byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

extension BufferStore.Ingress {
    var recordCount: Int {
        switch self {
        case .readings(let r): return r.count
        case .event: return 1
        case .barrier: return 0
        }
    }
}

/// Turns a list of seqs into maximal runs of consecutive numbers.
public enum SequenceRuns {
    public static func runs<S: Sequence>(of seqs: S) -> [ClosedRange<UInt64>] where S.Element == UInt64 {
        var out: [ClosedRange<UInt64>] = []
        var start: UInt64?
        var end: UInt64 = 0
        for s in seqs.sorted() {
            if let st = start {
                if s == end + 1 || s == end { end = s; continue }
                out.append(st...end)
            }
            start = s; end = s
        }
        if let st = start { out.append(st...end) }
        return out
    }
}
