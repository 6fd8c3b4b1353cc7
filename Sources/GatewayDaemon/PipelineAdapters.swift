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
final class CommitRouter: CommitObserver {
    private let detection: DetectionEngine?
    private weak var store: BufferStore?
    private let uplink: Uplink?
    private let clock: GatewayClock
    private var lastStateSave: UInt64
    /// How often learned baselines are written to the buffer.
    static let stateSaveIntervalNanoseconds: UInt64 = 600_000_000_000

    init(detection: DetectionEngine?, store: BufferStore, uplink: Uplink?, clock: GatewayClock) {
        self.detection = detection
        self.store = store
        self.uplink = uplink
        self.clock = clock
        lastStateSave = clock.monotonicNanoseconds()
    }

    func didCommit(_ records: [StoredRecord]) {
        if let detection, let store {
            for r in records where r.kind != .alarm {
                for alarm in detection.observe(pointID: r.pointID, timestampMilliseconds: r.timestampMilliseconds,
                                               value: r.value, quality: r.quality) {
                    store.submit(alarm: alarm)
                }
            }
            let now = clock.monotonicNanoseconds()
            if now &- lastStateSave >= CommitRouter.stateSaveIntervalNanoseconds {
                lastStateSave = now
                store.saveDetectorState(detection.saveState())
            }
        }
        uplink?.offer(records)
    }

    func didRecordGap(_ gap: StoredGap) {
        uplink?.gapsChanged()
    }

    /// Time passes without readings too: `missing` and heartbeat-style detectors need to hear about it.
    func tick(wallMilliseconds: Int64) {
        guard let detection, let store else { return }
        for alarm in detection.advance(toMilliseconds: wallMilliseconds) { store.submit(alarm: alarm) }
    }

    /// Called on the writer thread via a barrier at shutdown.
    func saveStateNow() {
        if let detection, let store { store.saveDetectorState(detection.saveState()) }
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
}
