import BufferStore
import Detection
import Drivers
import GatewayModel
import Logging
import Uplink

/// Bus threads → the store's bounded ingress queue. Blocks the bus when the
/// store is behind (backpressure), never drops.
final class StoreIngress: ReadingSink, @unchecked Sendable {
    // Invariant: immutable after init.
    private let store: BufferStore
    private let catalog: PointCatalog
    private let logger: Logger

    init(store: BufferStore, catalog: PointCatalog, logger: Logger) {
        self.store = store
        self.catalog = catalog
        self.logger = logger
    }

    func deliver(readings: [Reading]) {
        if !store.submit(readings: readings) {
            // Only after shutdown began: the buses are being stopped before the store.
            logger.error("reading arrived after the store closed", metadata: ["readings": "\(readings.count)"])
        }
    }

    func deliver(event: DeviceEvent) {
        if !store.submit(event: event, point: catalog[event.pointID]?.point ?? "") {
            logger.error("event arrived after the store closed", metadata: ["state": "\(event.state)"])
        }
    }
}

/// What happens after a commit, on the writer thread: detection sees every
/// committed reading in order; its alarms go back into the store (and come
/// round again as committed records); everything goes on to the uplink.
///
/// One router lives as long as the daemon; a reload swaps its detection and
/// uplink (under `lock`) while the buses are stopped, so the store keeps the
/// same observer.
final class CommitRouter: CommitObserver, @unchecked Sendable {
    // Invariant: every stored property is read and written under `lock`;
    // calls out (detection, store, uplink) happen with the references copied out.
    private let lock = ConditionLock()
    private var detection: DetectionEngine?
    private weak var store: BufferStore?
    private var uplink: Uplink?
    private var clock: GatewayClock = SystemClock()
    private var lastStateSave: UInt64 = 0
    /// How often learned baselines are written to the buffer.
    static let stateSaveIntervalNanoseconds: UInt64 = 600_000_000_000

    func attach(store: BufferStore, clock: GatewayClock) {
        lock.withLock {
            self.store = store
            self.clock = clock
            lastStateSave = clock.monotonicNanoseconds()
        }
    }

    func replace(detection: DetectionEngine?, uplink: Uplink?) {
        lock.withLock {
            self.detection = detection
            self.uplink = uplink
        }
    }

    func didCommit(_ records: [StoredRecord]) {
        let (detection, store, uplink, clock) = lock.withLock { (self.detection, self.store, self.uplink, self.clock) }
        if let detection, let store {
            for r in records where r.kind != .alarm {
                for alarm in detection.observe(pointID: r.pointID, timestampMilliseconds: r.timestampMilliseconds,
                                               value: r.value, quality: r.quality) {
                    store.submit(alarm: alarm)
                }
            }
            let now = clock.monotonicNanoseconds()
            let due = lock.withLock {
                if now &- lastStateSave >= CommitRouter.stateSaveIntervalNanoseconds { lastStateSave = now; return true }
                return false
            }
            if due { store.saveDetectorState(detection.saveState()) }
        }
        uplink?.offer(records)
    }

    func didRecordGap(_ gap: StoredGap) {
        lock.withLock { uplink }?.gapsChanged()
    }

    /// Time passes without readings too: `missing` and heartbeat-style detectors need to hear about it.
    func tick(wallMilliseconds: Int64) {
        let (detection, store) = lock.withLock { (self.detection, self.store) }
        guard let detection, let store else { return }
        for alarm in detection.advance(toMilliseconds: wallMilliseconds) { store.submit(alarm: alarm) }
    }

    /// Saves learned state on the writer thread (a barrier), where detection runs,
    /// and waits for it. Must not be called on the writer thread.
    func saveStateNow() {
        let (detection, store) = lock.withLock { (self.detection, self.store) }
        guard let detection, let store else { return }
        let done = Latch()
        store.flush {
            store.saveDetectorState(detection.saveState())
            done.open()
        }
        done.wait()
    }
}

/// The store seen from the uplink: a reader connection used only on the uplink
/// thread, and acknowledgements into the writer's non-blocking inbox.
final class StoreBacklog: UplinkBacklog, UplinkLedger, @unchecked Sendable {
    // Invariant: `reader` is used only by the uplink thread; `store` methods used here never block.
    private let reader: BufferReader
    private let store: BufferStore

    init(reader: BufferReader, store: BufferStore) {
        self.reader = reader
        self.store = store
    }

    func pendingRecords(afterSeq: UInt64, throughSeq: UInt64, limit: Int) throws -> [StoredRecord] {
        try reader.pendingRecords(afterSeq: afterSeq, throughSeq: throughSeq, limit: limit)
    }

    func records(from: UInt64, to: UInt64, limit: Int) throws -> [StoredRecord] {
        try reader.records(from: from, to: to, limit: limit)
    }

    func unannouncedGaps() throws -> [StoredGap] { try reader.unannouncedGaps() }
    func lastSeq() throws -> UInt64 { try reader.lastSeq() }
    func markDelivered(_ seqs: [UInt64]) { store.markDelivered(seqs) }
    func markGapsAnnounced(_ ids: [Int64]) { store.markGapsAnnounced(ids) }

    func resendRequested(store storeID: String, from: UInt64, to: UInt64) {
        let held = storeID == store.storeID ? "this store" : "another store (announced as not held)"
        store.recordAudit(action: "resend", detail: "cmd/resend seq \(from)-\(to) of \(storeID) (\(held))",
                          rows: Int64(clamping: (to - from).addingReportingOverflow(1).partialValue), actor: AuditActor(uid: -1, user: "mqtt cmd/resend"))
    }
}
