import BufferStore
import ControlChannel
import Detection
import Drivers
import Foundation
import GatewayModel
import Logging
import Uplink

/// Everything a running gateway is made of, built from one configuration.
///
/// Start order: store → detection → uplink → buses (so the first reading has
/// somewhere to go). Stop order is the reverse, with a flush in between so
/// that every polled reading is committed before the uplink's last drain.
final class GatewayRuntime: @unchecked Sendable {
    // Invariant: components are created in `start` and torn down in `stop`, both called once, in that order.
    static let version = GatewayVersion.string

    let configuration: GatewayConfiguration
    let logger: Logger
    let clock: GatewayClock
    private(set) var store: BufferStore?
    private(set) var catalog = PointCatalog([])
    private(set) var buses: [FieldBus] = []
    private(set) var uplink: Uplink?
    private var router: CommitRouter?
    private(set) var startedAtMilliseconds: Int64 = 0
    private var control: ControlServer?

    init(configuration: GatewayConfiguration, clock: GatewayClock = SystemClock(), logger: Logger) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// Opens the buffer, registers points, starts the uplink and the buses.
    /// Blocks (file I/O): call it off the cooperative pool.
    func start() throws {
        startedAtMilliseconds = clock.wallMilliseconds()
        let c = configuration
        try FileManager.default.createDirectory(atPath: c.gateway.dataDirectory, withIntermediateDirectories: true)
        let store = try BufferStore.open(path: c.gateway.bufferPath, settings: c.buffer, clock: clock,
                                         logger: logger.with(label: "store"))
        self.store = store
        for note in store.openingNotes { logger.warning("\(note)") }

        // Every configured point gets its stable id in this store.
        var registrations: [PointRegistration] = []
        for d in c.devices {
            for p in DevicePoints.points(for: d) {
                registrations.append(PointRegistration(device: d.id, deviceKind: d.kind, point: p.name, unit: p.unit))
            }
        }
        catalog = try store.registerPoints(registrations)

        var detection: DetectionEngine?
        if !c.detectors.isEmpty {
            let engine = try DetectionEngine(detectors: c.detectors, catalog: catalog)
            engine.restoreState(try store.loadDetectorState())
            detection = engine
        }

        let lastSeq = store.statistics().lastSeq
        if let u = c.uplink {
            let reader = try BufferReader(path: c.gateway.bufferPath)
            let backlog = StoreBacklog(reader: reader, store: store)
            let uplink = Uplink(settings: u, gatewayID: c.gateway.id, storeID: store.storeID, version: GatewayRuntime.version,
                                catalog: catalog, backlog: backlog, ledger: backlog, initialBacklogThrough: lastSeq,
                                clock: clock, logger: logger.with(label: "uplink"))
            uplink.previousStore = store.previousStore
            try uplink.start()
            self.uplink = uplink
        } else {
            logger.notice("no [uplink] configured: running buffer-only")
        }

        let router = CommitRouter(detection: detection, store: store, uplink: uplink, clock: clock)
        self.router = router
        store.start(observer: router)

        let sink = StoreIngress(store: store, catalog: catalog, logger: logger)
        for bus in c.buses {
            let devices = c.devices.filter { $0.bus == bus.name }.map { d in
                BusDevice(configuration: d, pointIDs: DevicePoints.points(for: d).map { catalog.id(device: d.id, point: $0.name) ?? -1 })
            }
            let fieldBus = FieldBus(configuration: bus, devices: devices, sink: sink, clock: clock,
                                    logger: logger.with(label: "bus.\(bus.name)"))
            fieldBus.start()
            buses.append(fieldBus)
        }
        logger.notice("gatewayd started", metadata: [
            "gateway": "\(c.gateway.id)", "store": "\(store.storeID)", "last_seq": "\(lastSeq)",
            "buses": "\(c.buses.count)", "devices": "\(c.devices.count)", "detectors": "\(c.detectors.count)",
            "buffer": "\(c.gateway.bufferPath)", "durability": "\(c.buffer.durability.rawValue)",
        ])
        control = try startControlServer(store: store)
    }

    /// Stops polling, commits everything, lets the uplink send and wait briefly
    /// for PUBACKs, publishes `status` offline, closes the buffer. Blocks.
    func stop() {
        logger.notice("stopping: finishing in-flight work")
        control?.stop()
        control = nil
        for b in buses { b.stop() }
        buses.removeAll()
        if let store {
            // Everything polled is committed (and offered to the uplink) before the uplink's last drain.
            router?.saveStateNow()
            store.flushAndWait()
        }
        uplink?.stop(drainTimeout: .seconds(3))
        uplink = nil
        store?.stop()
        if let s = store?.statistics() {
            logger.notice("gatewayd stopped", metadata: ["last_seq": "\(s.lastSeq)", "records_committed": "\(s.recordsCommitted)"])
        }
        store = nil
    }
}

extension Logger {
    /// A child logger with its own label and the same level.
    func with(label: String) -> Logger {
        var l = Logger(label: label)
        l.logLevel = logLevel
        return l
    }
}
