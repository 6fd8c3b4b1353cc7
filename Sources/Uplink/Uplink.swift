import GatewayModel
import Logging

#if canImport(Glibc)
import Glibc
#endif
import GatewayJSON

/// The MQTT uplink: batches live records per device, drains the backlog after
/// an outage, answers `cmd/resend`, announces gaps, and reports every PUBACK to
/// the ledger so the store can mark records sent.
///
/// One owner thread holds all state. libmosquitto's network thread only
/// forwards signals (connect, disconnect, PUBACK, message) into a mailbox.
///
/// How live and backlog meet: every committed record is in the store before it
/// reaches `offer`. Whenever the uplink cannot carry a live record (not
/// connected, mailbox full, `fifo` with a backlog, a shutdown), it drops it from
/// memory and raises `backlogThrough`; the backlog drain reads every unsent
/// record up to that seq from the store. So no path can lose a record: at worst
/// it is sent twice (same store and seq).
public final class Uplink: @unchecked Sendable {
    // Invariant: fields under "mailbox" are guarded by `mailboxLock`; everything
    // else is touched only on the owner thread (after start) — except `statusSnapshot`, guarded too.

    private let settings: UplinkSettings
    private let gatewayID: String
    private let storeID: String
    private let version: String
    private let catalog: PointCatalog
    private let backlog: UplinkBacklog
    private let ledger: UplinkLedger
    private let clock: GatewayClock
    private let logger: Logger
    private let topicBase: String
    /// Set when this store replaced a damaged one; said on every `online` status of this run.
    public var previousStore: String?
    private var session: MosquittoSession?
    private var thread: OwnerThread?

    // Mailbox.
    private let mailboxLock = ConditionLock()
    private var mailboxRecords: [StoredRecord] = []
    private var mailboxSignals: [SessionSignal] = []
    private var mailboxResends: [ResendRequest] = []
    private var mailboxGapsChanged = false
    private var spillThrough: UInt64 = 0
    private var stopRequested = false
    private var stopDeadline: UInt64 = 0
    private var statusSnapshot: UplinkStatus
    /// Live records held in memory beyond this go to the backlog instead.
    private let mailboxCapacity: Int

    // Owner-thread state.
    private var connected = false
    private var live: [String: PendingBatch] = [:]
    private var liveHeld = 0
    private var inflight: [Int32: InflightMessage] = [:]
    private var gapIDsInFlight: Set<Int64> = []
    private var backlogThrough: UInt64
    /// The highest seq this uplink has taken on (batched, published or dropped to the backlog).
    /// A lost connection hands everything up to it to the backlog: in-flight messages included.
    private var highestTakenSeq: UInt64 = 0
    private var backlogCursor: UInt64 = 0
    private var backlogDrained = false
    private var resends: [ResendRequest] = []
    private var tokens: Double = 0
    private var lastTokenRefill: UInt64 = 0
    private var writer = PayloadWriter(capacity: 64 * 1024)
    private var lastErrorLogged: String?

    struct PendingBatch {
        var records: [StoredRecord] = []
        var openedMonotonic: UInt64
    }

    struct InflightMessage {
        var seqs: [UInt64]
        var gapIDs: [Int64]
        var publishedMonotonic: UInt64
    }

    /// A `cmd/resend` payload: `{"store":"...","from":N,"to":M}` with
    /// 1 <= N <= M <= 2^63-1 (seq starts at 1 and is stored as int64, so no
    /// other range is one anyone holds). Members it does not know are ignored
    /// (a newer tool may send more); the three it needs must be there with these kinds.
    struct ResendRequest: Equatable {
        var store: String
        var from: UInt64
        var to: UInt64

        init(store: String, from: UInt64, to: UInt64) {
            self.store = store
            self.from = from
            self.to = to
        }

        /// - Throws: `ResendRequestError` saying what is wrong (not JSON, not an
        ///   object, a member missing, a wrong kind or a number out of range, a reversed range).
        init(payload: [UInt8]) throws {
            let document: JSONValue
            do {
                document = try JSONValue(parsing: payload)
            } catch let error as JSONSyntaxError {
                throw ResendRequestError.notJSON(error.description)
            }
            guard case .object = document else { throw ResendRequestError.notAnObject(found: document.inWords) }
            guard let storeValue = document["store"] else { throw ResendRequestError.missing(member: "store") }
            guard case .string(let store) = storeValue else {
                throw ResendRequestError.wrongKind(member: "store", expected: "a string", found: storeValue.inWords)
            }
            let from = try ResendRequest.sequenceNumber("from", in: document)
            let to = try ResendRequest.sequenceNumber("to", in: document)
            guard from <= to else { throw ResendRequestError.reversed(from: from, to: to) }
            self.init(store: store, from: from, to: to)
        }

        private static func sequenceNumber(_ member: String, in document: JSONValue) throws -> UInt64 {
            guard let value = document[member] else { throw ResendRequestError.missing(member: member) }
            // A string, null, -5, 1.5 or 2^64: said as written, not as the decoder saw it.
            guard case .number(let text) = value, let number = UInt64(text), number >= 1, number <= UInt64(Int64.max) else {
                throw ResendRequestError.wrongKind(member: member, expected: "a whole number from 1 to \(Int64.max)", found: value.inWords)
            }
            return number
        }
    }

    public static let resendTopicSuffix = "cmd/resend"

    /// - Parameter initialBacklogThrough: the store's last seq at start: all unsent records up to it are backlog.
    public init(settings: UplinkSettings, gatewayID: String, storeID: String, version: String, catalog: PointCatalog,
                backlog: UplinkBacklog, ledger: UplinkLedger, initialBacklogThrough: UInt64,
                clock: GatewayClock = SystemClock(), logger: Logger) {
        self.settings = settings
        self.gatewayID = gatewayID
        self.storeID = storeID
        self.version = version
        self.catalog = catalog
        self.backlog = backlog
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
        self.backlogThrough = initialBacklogThrough
        self.topicBase = "\(settings.topicPrefix)/\(gatewayID)/"
        self.mailboxCapacity = max(settings.batchMaxReadings * 20, 10_000)
        self.statusSnapshot = UplinkStatus(broker: settings.broker.url)
    }

    /// Sets up the client (credentials, TLS, last will) and starts connecting.
    /// Throws for problems a technician must fix (unreadable password or TLS
    /// files); an unreachable broker is not an error: the uplink keeps trying.
    public func start() throws {
        let s = try MosquittoSession(clientID: settings.clientID) { [weak self] signal in
            self?.receive(signal)
        }
        if let user = settings.username {
            var password: String?
            if let file = settings.passwordFile { password = try Uplink.readPassword(file) }
            try s.setCredentials(username: user, password: password)
        }
        if settings.broker.tls {
            try s.setTLS(caFile: settings.caFile, certFile: settings.certFile, keyFile: settings.keyFile)
        }
        // The will's ts is when this session began: the broker publishes it when we vanish.
        try s.setWill(topic: topicBase + "status",
                      payload: Payloads.status(state: "offline", ts: clock.wallMilliseconds(), version: version, store: storeID, gateway: gatewayID))
        s.setReconnectDelay(minSeconds: UInt32(max(1, settings.reconnectMinDelay.seconds.rounded())),
                            maxSeconds: UInt32(max(1, settings.reconnectMaxDelay.seconds.rounded())))
        session = s
        lastTokenRefill = clock.monotonicNanoseconds()
        let t = OwnerThread(name: "uplink") { [self] in run() }
        thread = t
        t.start()
        logger.info("uplink connecting", metadata: ["broker": "\(settings.broker.url)", "client_id": "\(settings.clientID)"])
        if let reason = try s.start(host: settings.broker.host, port: settings.broker.port,
                                    keepAliveSeconds: Int(settings.keepAlive.seconds.rounded())) {
            receive(.log(level: 0x08, text: "cannot reach the broker yet (\(reason)); buffering and retrying"))
        }
    }

    static func readPassword(_ path: String) throws -> String {
        let data: [UInt8]
        do {
            data = try PlainFile.read(path, limit: 64 * 1024)
        } catch let e as PlainFileError {
            let reason: String
            switch e.errno {
            case ENOENT?: reason = "no such file"
            case EACCES?, EPERM?: reason = "permission denied"
            case let code?: reason = SystemCall.errorText(code)
            case nil: reason = "\(e)"
            }
            throw UplinkError.passwordFile(path: path, reason: reason)
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        if text.isEmpty { throw UplinkError.passwordFile(path: path, reason: "the file is empty") }
        return text
    }

    // MARK: Inputs (any thread, never block)

    /// Committed records, in seq order, from the store writer.
    public func offer(_ records: [StoredRecord]) {
        guard let last = records.last else { return }
        mailboxLock.withLock {
            if stopRequested || mailboxRecords.count + records.count > mailboxCapacity {
                // Policy "spill to backlog": they are durable; the drain will read them.
                spillThrough = max(spillThrough, last.seq)
            } else {
                mailboxRecords.append(contentsOf: records)
            }
            mailboxLock.broadcast()
        }
    }

    /// Everything up to `seq` that is still unsent is the backlog's to send (for
    /// records committed before this uplink was attached to the store's output).
    public func takeBacklog(through seq: UInt64) {
        mailboxLock.withLock {
            spillThrough = max(spillThrough, seq)
            mailboxLock.broadcast()
        }
    }

    /// The store recorded a gap: announce it.
    public func gapsChanged() {
        mailboxLock.withLock { mailboxGapsChanged = true; mailboxLock.broadcast() }
    }

    private func receive(_ signal: SessionSignal) {
        mailboxLock.withLock { mailboxSignals.append(signal); mailboxLock.broadcast() }
    }

    public func status() -> UplinkStatus {
        mailboxLock.withLock { statusSnapshot }
    }

    /// Sends what is batched, waits up to `drainTimeout` for outstanding PUBACKs,
    /// publishes `status` offline and disconnects. Blocks the caller.
    /// Whatever is not acknowledged stays pending in the store and is sent after restart.
    public func stop(drainTimeout: Duration = .seconds(3)) {
        mailboxLock.withLock {
            stopRequested = true
            stopDeadline = clock.monotonicNanoseconds() + UInt64(max(0, drainTimeout.nanoseconds))
            mailboxLock.broadcast()
        }
        thread?.join()
        thread = nil
        session?.stopLoop()
        session = nil
    }

    // MARK: The owner thread

    private func run() {
        var offlinePublished: Int32?
        var offlineDeadline: UInt64 = 0
        while true {
            let now = clock.monotonicNanoseconds()
            let (records, signals, newResends, gapsChanged, spill, stopping, deadline) = mailboxLock.withLock {
                let r = (mailboxRecords, mailboxSignals, mailboxResends, mailboxGapsChanged, spillThrough, stopRequested, stopDeadline)
                mailboxRecords.removeAll(keepingCapacity: true)
                mailboxSignals.removeAll(keepingCapacity: true)
                mailboxResends.removeAll()
                mailboxGapsChanged = false
                return r
            }
            for s in signals { handle(s) }
            resends.append(contentsOf: newResends)
            if spill > backlogThrough { backlogThrough = spill; backlogDrained = false }
            for r in records { accept(r, now: now) }
            if gapsChanged && connected { announceGaps() }

            if stopping {
                // Shutdown: flush every live batch, then wait for acknowledgements until the deadline.
                if connected { flushLive(now: now, force: true) }
                let done = inflight.isEmpty || !connected || now >= deadline
                if done {
                    if connected, offlinePublished == nil, let s = session {
                        let payload = Payloads.status(state: "offline", ts: clock.wallMilliseconds(), version: version, store: storeID, gateway: gatewayID)
                        offlinePublished = s.publish(topic: topicBase + "status", text: payload, retain: true) ?? -1
                        offlineDeadline = now + 1_000_000_000
                    }
                    let offlineAcked = offlinePublished.map { inflight[$0] == nil && $0 != -1 } ?? true
                    if !connected || offlineAcked || now >= offlineDeadline {
                        if !inflight.isEmpty {
                            logger.notice("stopping with messages not yet acknowledged; they stay pending and are sent after restart",
                                          metadata: ["messages": "\(inflight.count)"])
                        }
                        session?.disconnect()
                        publishStatus(now: now)
                        return
                    }
                    if let mid = offlinePublished, mid >= 0, inflight[mid] == nil {
                        inflight[mid] = InflightMessage(seqs: [], gapIDs: [], publishedMonotonic: now)
                    }
                }
            } else if connected {
                flushLive(now: now, force: false)
                drainResends(now: now)
                drainBacklog(now: now)
            }
            publishStatus(now: now)

            // Sleep until something arrives or the next batch is due (at most 1 s).
            var wake = now + 1_000_000_000
            // A due batch can go only when the window has room; until then the next PUBACK wakes us
            // (waiting for an overdue deadline would return at once and spin).
            if inflight.count < settings.maxInflightMessages, let oldest = live.values.map(\.openedMonotonic).min() {
                wake = min(wake, oldest + UInt64(settings.batchMaxDelay.nanoseconds))
            }
            if connected && (!backlogDrained || !resends.isEmpty) && inflight.count < settings.maxInflightMessages {
                wake = min(wake, now + 20_000_000)
            }
            if stopping { wake = min(wake, now + 20_000_000) }
            mailboxLock.withLock {
                if mailboxRecords.isEmpty && mailboxSignals.isEmpty && mailboxResends.isEmpty && !mailboxGapsChanged
                    && (stopRequested == stopping) {
                    mailboxLock.wait(untilMonotonicNanoseconds: wake)
                }
            }
        }
    }

    private func handle(_ signal: SessionSignal) {
        let now = clock.monotonicNanoseconds()
        switch signal {
        case .connected(let code, let reason):
            guard code == 0 else {
                noteError("the broker refused the connection: \(reason)\(code == 4 || code == 5 ? " — check uplink.username and password_file" : "")")
                return
            }
            connected = true
            backlogCursor = 0
            backlogDrained = false
            lastErrorLogged = nil
            mailboxLock.withLock {
                statusSnapshot.connected = true
                statusSnapshot.connectedSinceMilliseconds = clock.wallMilliseconds()
                statusSnapshot.lastError = nil
            }
            logger.notice("uplink connected", metadata: ["broker": "\(settings.broker.url)"])
            let online = Payloads.status(state: "online", ts: clock.wallMilliseconds(), version: version, store: storeID,
                                         gateway: gatewayID, previousStore: previousStore)
            if let mid = session?.publish(topic: topicBase + "status", text: online, retain: true) {
                inflight[mid] = InflightMessage(seqs: [], gapIDs: [], publishedMonotonic: now)
            }
            session?.subscribe(topicBase + Uplink.resendTopicSuffix)
            announceGaps()
        case .disconnected(let code):
            let wasConnected = connected
            connected = false
            // Everything in flight or batched stays pending in the store: the backlog will carry it.
            inflight.removeAll()
            gapIDsInFlight.removeAll()
            backlogThrough = max(backlogThrough, highestTakenSeq)
            live.removeAll()
            liveHeld = 0
            backlogCursor = 0
            backlogDrained = false
            mailboxLock.withLock {
                if wasConnected { statusSnapshot.reconnects += 1 }
                statusSnapshot.connected = false
                statusSnapshot.disconnectedSinceMilliseconds = clock.wallMilliseconds()
            }
            if wasConnected {
                logger.warning("uplink lost the broker; buffering", metadata: ["code": "\(code)", "broker": "\(settings.broker.url)"])
            }
            // Jitter the next reconnect so a fleet of boxes does not return in lockstep.
            let minSeconds = settings.reconnectMinDelay.seconds * Double.random(in: 0.5...1.5)
            session?.setReconnectDelay(minSeconds: UInt32(max(1, minSeconds.rounded())),
                                       maxSeconds: UInt32(max(1, settings.reconnectMaxDelay.seconds.rounded())))
        case .acknowledged(let mid):
            guard let m = inflight.removeValue(forKey: mid) else { return }
            if !m.seqs.isEmpty { ledger.markDelivered(m.seqs) }
            if !m.gapIDs.isEmpty {
                ledger.markGapsAnnounced(m.gapIDs)
                gapIDsInFlight.subtract(m.gapIDs)
            }
            let latency = Double(now &- m.publishedMonotonic) / 1e6
            mailboxLock.withLock {
                statusSnapshot.recordsAcknowledged += UInt64(m.seqs.count)
                statusSnapshot.lastAckLatencyMilliseconds = latency
            }
        case .message(let topic, let payload):
            guard topic == topicBase + Uplink.resendTopicSuffix else { return }
            do {
                let request = try ResendRequest(payload: payload)
                logger.notice("resend requested", metadata: ["store": "\(request.store)", "from": "\(request.from)", "to": "\(request.to)"])
                ledger.resendRequested(store: request.store, from: request.from, to: request.to)
                resends.append(request)
            } catch {
                logger.warning("ignoring a malformed cmd/resend (expected {\"store\":\"...\",\"from\":N,\"to\":M} with 1 <= N <= M)",
                               metadata: ["payload": "\(String(decoding: payload.prefix(200), as: UTF8.self))", "reason": "\(error)"])
            }
        case .log(let level, let text):
            // libmosquitto explains TLS and socket failures only through its log.
            if level & 0x08 != 0 || text.contains("OpenSSL Error") || text.contains("certificate") {  // MOSQ_LOG_ERR
                noteError(Uplink.explain(text))
            }
        }
    }

    static func explain(_ text: String) -> String {
        if text.contains("certificate verify failed") {
            return "TLS: the broker's certificate is not trusted by uplink.ca_file (\(text))"
        }
        if text.contains("alert unknown ca") || text.contains("alert bad certificate") || text.contains("certificate required") {
            return "TLS: the broker rejected our client certificate — check uplink.cert_file and key_file (\(text))"
        }
        return text
    }

    private func noteError(_ message: String) {
        mailboxLock.withLock { statusSnapshot.lastError = message }
        // Once per distinct error, not once per retry.
        if lastErrorLogged != message {
            lastErrorLogged = message
            logger.error("uplink: \(message)")
        }
    }

    private func accept(_ record: StoredRecord, now: UInt64) {
        highestTakenSeq = max(highestTakenSeq, record.seq)
        let fifoWaiting = settings.replay == .fifo && !backlogDrained
        guard connected, !fifoWaiting, record.seq > backlogThrough || backlogDrained else {
            backlogThrough = max(backlogThrough, record.seq)
            backlogDrained = false
            return
        }
        switch record.kind {
        case .event, .alarm:
            // Sent at once, not held for a batch.
            if !publishSingle(record, historical: false, now: now) {
                backlogThrough = max(backlogThrough, record.seq)
                backlogDrained = false
            }
        case .reading:
            let device = catalog[record.pointID]?.device ?? "unknown"
            live[device, default: PendingBatch(openedMonotonic: now)].records.append(record)
            liveHeld += 1
            if liveHeld > mailboxCapacity {
                spillLive()
            }
        }
    }

    /// Too much live data waits for the window: let the backlog carry it.
    private func spillLive() {
        for (_, b) in live { if let last = b.records.last { backlogThrough = max(backlogThrough, last.seq) } }
        live.removeAll()
        liveHeld = 0
        backlogDrained = false
    }

    private func flushLive(now: UInt64, force: Bool) {
        let maxDelay = UInt64(settings.batchMaxDelay.nanoseconds)
        for device in Array(live.keys) {
            guard var batch = live[device] else { continue }
            while batch.records.count >= settings.batchMaxReadings
                    || (!batch.records.isEmpty && (force || now &- batch.openedMonotonic >= maxDelay)) {
                guard inflight.count < settings.maxInflightMessages || force else { live[device] = batch; return }
                let n = min(batch.records.count, settings.batchMaxReadings)
                let chunk = batch.records[0..<n]
                guard publishBatch(device: device, records: chunk, historical: false, now: now) else {
                    live[device] = batch
                    return
                }
                batch.records.removeFirst(n)
                liveHeld -= n
                batch.openedMonotonic = now
            }
            live[device] = batch.records.isEmpty ? nil : batch
        }
    }

    private func refillTokens(now: UInt64) {
        let rate = Double(settings.replayRateReadingsPerSecond)
        guard rate > 0 else { tokens = .infinity; return }
        let elapsed = Double(now &- lastTokenRefill) / 1e9
        lastTokenRefill = now
        tokens = min(rate, tokens + elapsed * rate)  // at most one second of burst
    }

    private func drainBacklog(now: UInt64) {
        guard !backlogDrained else { return }
        refillTokens(now: now)
        while inflight.count < settings.maxInflightMessages && tokens >= 1 {
            let limit = Int(min(Double(settings.batchMaxReadings * 8), tokens.rounded(.down)))
            let chunk: [StoredRecord]
            do {
                chunk = try backlog.pendingRecords(afterSeq: backlogCursor, throughSeq: backlogThrough, limit: max(limit, 1))
            } catch {
                noteError("cannot read the backlog from the buffer: \(error)")
                return
            }
            guard let last = chunk.last else {
                if !backlogDrained && backlogThrough > 0 {
                    logger.info("backlog drained", metadata: ["through_seq": "\(backlogThrough)"])
                }
                backlogDrained = true
                return
            }
            guard publishChunk(chunk, historical: true, now: now) else { return }
            tokens -= Double(chunk.count)
            backlogCursor = last.seq
        }
    }

    private func drainResends(now: UInt64) {
        guard var job = resends.first else { return }
        if job.store != storeID {
            // Another (older) store: nothing of it is held here.
            announceTransientGap(SequenceGap(store: job.store, from: job.from, to: job.to, count: (job.to - job.from).addingReportingOverflow(1).partialValue,
                                             reason: .notHeld), now: now)
            resends.removeFirst()
            return
        }
        let lastSeq = (try? backlog.lastSeq()) ?? 0
        let to = min(job.to, lastSeq)
        while inflight.count < settings.maxInflightMessages && job.from <= to {
            let chunk: [StoredRecord]
            do { chunk = try backlog.records(from: job.from, to: to, limit: settings.batchMaxReadings * 8) } catch {
                noteError("cannot read records for a resend: \(error)")
                return
            }
            // Seqs in the range the store no longer holds are announced, so the requester can stop asking.
            var expected = job.from
            var missing: [SequenceGap] = []
            for r in chunk {
                if r.seq > expected {
                    missing.append(SequenceGap(store: storeID, from: expected, to: r.seq - 1, count: r.seq - expected, reason: .notHeld))
                }
                expected = r.seq + 1
            }
            let chunkEnd = chunk.count < settings.batchMaxReadings * 8 ? to : (chunk.last?.seq ?? to)
            if expected <= chunkEnd {
                missing.append(SequenceGap(store: storeID, from: expected, to: chunkEnd, count: chunkEnd - expected + 1, reason: .notHeld))
            }
            if !chunk.isEmpty { guard publishChunk(chunk, historical: true, now: now) else { resends[0] = job; return } }
            for g in missing { announceTransientGap(g, now: now) }
            if chunkEnd == UInt64.max { break }
            job.from = chunkEnd + 1
        }
        if job.from > to { resends.removeFirst() } else { resends[0] = job }
    }

    /// Publishes records in per-device batches (events and alarms one by one), preserving seq order per device.
    private func publishChunk(_ chunk: [StoredRecord], historical: Bool, now: UInt64) -> Bool {
        var byDevice: [String: [StoredRecord]] = [:]
        var order: [String] = []
        for r in chunk {
            if r.kind != .reading {
                guard publishSingle(r, historical: historical, now: now) else { return false }
                continue
            }
            let device = catalog[r.pointID]?.device ?? "unknown"
            if byDevice[device] == nil { order.append(device) }
            byDevice[device, default: []].append(r)
        }
        for device in order {
            let records = byDevice[device]!
            var start = 0
            while start < records.count {
                let end = min(start + settings.batchMaxReadings, records.count)
                guard publishBatch(device: device, records: records[start..<end], historical: historical, now: now) else { return false }
                start = end
            }
        }
        return true
    }

    private func publishBatch(device: String, records: ArraySlice<StoredRecord>, historical: Bool, now: UInt64) -> Bool {
        guard let s = session, let first = records.first else { return false }
        writer.reset()
        Payloads.dataBatch(into: &writer, gateway: gatewayID, device: catalog[first.pointID], deviceName: device,
                           store: storeID, historical: historical, records: records, catalog: catalog)
        let mid = writer.bytes.withUnsafeBytes { s.publish(topic: topicBase + "data/" + device, payload: $0) }
        guard let mid else { return false }
        inflight[mid] = InflightMessage(seqs: records.map(\.seq), gapIDs: [], publishedMonotonic: now)
        mailboxLock.withLock { statusSnapshot.messagesPublished += 1 }
        return true
    }

    private func publishSingle(_ r: StoredRecord, historical: Bool, now: UInt64) -> Bool {
        guard let s = session else { return false }
        let device = catalog[r.pointID]?.device ?? "unknown"
        writer.reset()
        Payloads.single(into: &writer, gateway: gatewayID, deviceName: device, store: storeID, historical: historical, record: r)
        let topic = topicBase + (r.kind == .alarm ? "alarms/" : "events/") + device
        let mid = writer.bytes.withUnsafeBytes { s.publish(topic: topic, payload: $0) }
        guard let mid else { return false }
        inflight[mid] = InflightMessage(seqs: [r.seq], gapIDs: [], publishedMonotonic: now)
        mailboxLock.withLock { statusSnapshot.messagesPublished += 1 }
        return true
    }

    private func announceGaps() {
        guard let s = session else { return }
        let gaps: [StoredGap]
        do { gaps = try backlog.unannouncedGaps().filter { !gapIDsInFlight.contains($0.id) } } catch {
            noteError("cannot read gaps from the buffer: \(error)")
            return
        }
        var start = 0
        while start < gaps.count {
            let part = gaps[start..<min(start + 100, gaps.count)]
            writer.reset()
            Payloads.gaps(into: &writer, gateway: gatewayID, store: storeID, ts: clock.wallMilliseconds(), gaps: part.map(\.gap))
            guard let mid = writer.bytes.withUnsafeBytes({ s.publish(topic: topicBase + "gaps", payload: $0) }) else { return }
            let ids = part.map(\.id)
            inflight[mid] = InflightMessage(seqs: [], gapIDs: ids, publishedMonotonic: clock.monotonicNanoseconds())
            gapIDsInFlight.formUnion(ids)
            start += 100
        }
    }

    private func announceTransientGap(_ gap: SequenceGap, now: UInt64) {
        guard let s = session else { return }
        writer.reset()
        Payloads.gaps(into: &writer, gateway: gatewayID, store: gap.store, ts: clock.wallMilliseconds(), gaps: [gap])
        if let mid = writer.bytes.withUnsafeBytes({ s.publish(topic: topicBase + "gaps", payload: $0) }) {
            inflight[mid] = InflightMessage(seqs: [], gapIDs: [], publishedMonotonic: now)
        }
    }

    private func publishStatus(now: UInt64) {
        let inflightCount = inflight.count
        let draining = connected && !backlogDrained
        mailboxLock.withLock {
            statusSnapshot.messagesInFlight = inflightCount
            statusSnapshot.drainingBacklog = draining
            statusSnapshot.lastProgressMonotonicNanoseconds = now
        }
    }
}

/// Why a `cmd/resend` payload was refused: the `reason` of the warning, for
/// whoever wrote the tool that sent it.
enum ResendRequestError: Error, CustomStringConvertible, Equatable {
    /// The JSON syntax error, with where it is.
    case notJSON(String)
    case notAnObject(found: String)
    case missing(member: String)
    case wrongKind(member: String, expected: String, found: String)
    case reversed(from: UInt64, to: UInt64)

    var description: String {
        switch self {
        case .notJSON(let problem): return problem
        case .notAnObject(let found): return "expected an object, found \(found)"
        case .missing(let member): return "\"\(member)\" is missing"
        case .wrongKind(let member, let expected, let found): return "\(member): expected \(expected), found \(found)"
        case .reversed(let from, let to): return "from (\(from)) is above to (\(to))"
        }
    }
}
