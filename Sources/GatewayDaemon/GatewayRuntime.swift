import BufferStore
import ControlChannel
import Detection
import Drivers
import GatewayModel
import Logging
import Uplink

/// Everything a running gateway is made of, built from one configuration.
///
/// Start order: store → detection → uplink → buses (so the first reading has
/// somewhere to go). Stop order is the reverse, with a flush in between so
/// that every polled reading is committed before the uplink's last drain.
///
/// The buffer outlives reloads: `reload` stops the buses, commits what they
/// polled, and rebuilds detection, uplink, buses and the control socket around
/// the same open store, so `seq` and the store id carry on.
final class GatewayRuntime: @unchecked Sendable {
    // Invariant: `start`, `reload` and `stop` are called one at a time (the
    // service runs them in sequence off the pool); readers of the component
    // references (`snapshot()`, from the supervisor thread) go through `lock`.
    static let version = GatewayVersion.string

    private(set) var configuration: GatewayConfiguration
    let logger: Logger
    let clock: GatewayClock
    private let lock = ConditionLock()
    private(set) var store: BufferStore?
    private(set) var catalog = PointCatalog([])
    private(set) var buses: [FieldBus] = []
    /// Test seam only (GATEWAYD_TEST_STALL_BUS): released before the buses are joined.
    private var stallingSinks: [StallingSink] = []
    private(set) var uplink: Uplink?
    private var detection: DetectionEngine?
    private let router = CommitRouter()
    private(set) var startedAtMilliseconds: Int64 = 0
    private var control: ControlServer?
    private var backlogReader: BufferReader?
    /// Reloads applied since start, for metrics.
    private(set) var reloadsApplied: UInt64 = 0
    private(set) var reloadsRejected: UInt64 = 0

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
        try PlainFile.makeDirectories(c.gateway.dataDirectory)
        let store = try BufferStore.open(path: c.gateway.bufferPath, settings: c.buffer, clock: clock,
                                         logger: logger.with(label: "store"))
        for note in store.openingNotes { logger.warning("\(note)") }
        let catalog = try store.registerPoints(GatewayRuntime.registrations(for: c))
        let detection = try GatewayRuntime.detection(for: c, catalog: catalog)
        detection?.restoreState(try store.loadDetectorState())
        lock.withLock {
            self.store = store
            self.catalog = catalog
        }
        router.attach(store: store, clock: clock)
        router.replace(detection: detection, uplink: nil)
        self.detection = detection
        store.start(observer: router)
        try startPipeline(c, store: store, detection: detection)
        logger.notice("gatewayd started", metadata: [
            "gateway": "\(c.gateway.id)", "store": "\(store.storeID)", "last_seq": "\(store.statistics().lastSeq)",
            "buses": "\(c.buses.count)", "devices": "\(c.devices.count)", "detectors": "\(c.detectors.count)",
            "buffer": "\(c.gateway.bufferPath)", "durability": "\(c.buffer.durability.rawValue)",
        ])
        control = try startControlServer(store: store)
    }

    /// Uplink, then buses, for configuration `c` around the open `store`.
    private func startPipeline(_ c: GatewayConfiguration, store: BufferStore, detection: DetectionEngine?) throws {
        let lastSeq = store.statistics().lastSeq
        var uplink: Uplink?
        if var u = c.uplink {
            u.passwordFile = try MQTTPassword.resolve(settings: u, environment: ProcessEnvironment.variables(),
                                                      logger: logger)
            let reader = try BufferReader(path: c.gateway.bufferPath)
            let backlog = StoreBacklog(reader: reader, store: store)
            let made = Uplink(settings: u, gatewayID: c.gateway.id, storeID: store.storeID, version: GatewayRuntime.version,
                              catalog: catalog, backlog: backlog, ledger: backlog, initialBacklogThrough: lastSeq,
                              clock: clock, logger: logger.with(label: "uplink"))
            made.previousStore = store.previousStore
            try made.start()
            uplink = made
        } else {
            logger.notice("no [uplink] configured: running buffer-only")
        }
        router.replace(detection: detection, uplink: uplink)
        // Records committed while the uplink was being set up (alarms from the writer's
        // first tick, a reload's last readings) reached no uplink: the backlog takes them.
        uplink?.takeBacklog(through: store.statistics().lastSeq)

        let sink = StoreIngress(store: store, catalog: catalog, logger: logger)
        let stallSeam = StallingSink.requested()
        var started: [FieldBus] = []
        for bus in c.buses {
            let devices = c.devices.filter { $0.bus == bus.name }.map { d in
                BusDevice(configuration: d, pointIDs: DevicePoints.points(for: d).map { catalog.id(device: d.id, point: $0.name) ?? -1 })
            }
            var busSink: ReadingSink = sink
            if let seam = stallSeam, seam.bus == bus.name {
                let stalling = StallingSink(wrapping: sink, stallAfter: seam.after, clock: clock)
                logger.warning("test seam: bus \(bus.name) will stall after \(ConfigUnits.text(seam.after)) (GATEWAYD_TEST_STALL_BUS)")
                lock.withLock { stallingSinks.append(stalling) }
                busSink = stalling
            }
            let fieldBus = FieldBus(configuration: bus, devices: devices, sink: busSink, clock: clock,
                                    logger: logger.with(label: "bus.\(bus.name)"))
            fieldBus.start()
            started.append(fieldBus)
        }
        lock.withLock {
            self.uplink = uplink
            self.buses = started
        }
    }

    /// Stops buses and uplink after committing what the buses polled; the store stays open.
    private func stopPipeline(drainTimeout: Duration) {
        let (buses, uplink, stalled) = lock.withLock { (self.buses, self.uplink, self.stallingSinks) }
        for s in stalled { s.release() }
        for b in buses { b.stop() }
        lock.withLock { self.buses = [] }
        if let store {
            // Everything polled is committed (and offered to the uplink) before the uplink's last drain.
            router.saveStateNow()
            store.flushAndWait()
        }
        uplink?.stop(drainTimeout: drainTimeout)
        router.replace(detection: detection, uplink: nil)
        lock.withLock { self.uplink = nil }
    }

    /// Applies `new` without closing the buffer. Blocks: call it off the pool.
    /// Returns what changed, in words, for the log and the audit row.
    /// - Throws: `ReloadError` when the new configuration cannot be applied
    ///   (the caller keeps the running one, which this leaves untouched), or
    ///   the error that stopped the rebuilt pipeline from starting.
    func reload(to new: GatewayConfiguration) throws -> [String] {
        guard let store else { throw ReloadError.notRunning }
        var next = new
        var notes = ReloadPlan.changes(from: configuration, to: new)
        // Settings that belong to the open buffer (and its socket) wait for a restart.
        for kept in ReloadPlan.restartOnly(from: configuration, to: new) {
            logger.warning("reload: \(kept) changed; it takes effect at the next restart")
            notes.append("\(kept) kept until restart")
        }
        next.gateway.dataDirectory = configuration.gateway.dataDirectory
        next.buffer = configuration.buffer
        next.control = configuration.control
        // Problems a technician must fix are found before anything is stopped.
        if let u = next.uplink, u.username != nil,
           let file = try MQTTPassword.resolve(settings: u, environment: ProcessEnvironment.variables(), logger: logger),
           !PlainFile.isReadable(file) {
            throw ReloadError.unreadablePassword(file)
        }

        control?.stop()
        control = nil
        stopPipeline(drainTimeout: .seconds(2))
        // Points a new device brings: this store must know them before its readings arrive.
        let missing = GatewayRuntime.registrations(for: next).filter { catalog.id(device: $0.device, point: $0.point) == nil }
        let current = store
        if !missing.isEmpty {
            // The running writer registers them in order with everything else: the buffer stays open.
            let catalog = try store.registerPoints(GatewayRuntime.registrations(for: next))
            lock.withLock { self.catalog = catalog }
            notes.append("registered \(missing.count) new point(s)")
        }
        let detection: DetectionEngine?
        do {
            detection = try GatewayRuntime.detection(for: next, catalog: catalog)
        } catch {
            // Put the running configuration back as it was before reporting.
            try startPipeline(configuration, store: current, detection: self.detection)
            control = try startControlServer(store: current)
            throw error
        }
        // Learned baselines carry over to detectors that still exist.
        if let old = self.detection, let detection { detection.restoreState(old.saveState()) }
        self.detection = detection
        router.replace(detection: detection, uplink: nil)
        let previous = configuration
        lock.withLock { configuration = next }
        do {
            try startPipeline(next, store: current, detection: detection)
        } catch {
            // Half a new pipeline is worse than the old one: put the old one back, then report.
            logger.error("reload: the new configuration did not start (\(error)); going back to the previous one")
            stopPipeline(drainTimeout: .seconds(1))
            lock.withLock { configuration = previous }
            try startPipeline(previous, store: current, detection: detection)
            control = try startControlServer(store: current)
            throw error
        }
        control = try startControlServer(store: current)
        lock.withLock { reloadsApplied += 1 }
        return notes
    }

    func noteRejectedReload() { lock.withLock { reloadsRejected += 1 } }

    /// Stops polling, commits everything, lets the uplink send and wait briefly
    /// for PUBACKs, publishes `status` offline, closes the buffer. Blocks.
    func stop() {
        logger.notice("stopping: finishing in-flight work")
        control?.stop()
        control = nil
        stopPipeline(drainTimeout: .seconds(3))
        store?.stop()
        if let s = store?.statistics() {
            logger.notice("gatewayd stopped", metadata: ["last_seq": "\(s.lastSeq)", "records_committed": "\(s.recordsCommitted)"])
        }
        lock.withLock { store = nil }
    }

    /// What the supervisor samples: cheap, any thread.
    func snapshot() -> RuntimeSnapshot {
        let (configuration, store, buses, uplink, applied, rejected) = lock.withLock {
            (self.configuration, self.store, self.buses, self.uplink, reloadsApplied, reloadsRejected)
        }
        return RuntimeSnapshot(configuration: configuration, writer: store?.statistics(), storePath: store?.path,
                               buses: buses.map { $0.status() }, uplinkConfigured: configuration.uplink != nil,
                               uplink: uplink?.status(), reloadsApplied: applied, reloadsRejected: rejected)
    }

    static func registrations(for c: GatewayConfiguration) -> [PointRegistration] {
        var out: [PointRegistration] = []
        for d in c.devices {
            for p in DevicePoints.points(for: d) {
                out.append(PointRegistration(device: d.id, deviceKind: d.kind, point: p.name, unit: p.unit))
            }
        }
        return out
    }

    static func detection(for c: GatewayConfiguration, catalog: PointCatalog) throws -> DetectionEngine? {
        c.detectors.isEmpty ? nil : try DetectionEngine(detectors: c.detectors, catalog: catalog)
    }
}

/// Everything the supervisor needs from one moment of the running gateway.
struct RuntimeSnapshot: Sendable {
    var configuration: GatewayConfiguration
    var writer: WriterStatistics?
    var storePath: String?
    var buses: [BusStatus]
    var uplinkConfigured: Bool
    var uplink: UplinkStatus?
    var reloadsApplied: UInt64
    var reloadsRejected: UInt64
}

/// Why a reload was not applied.
enum ReloadError: Error, CustomStringConvertible {
    case notRunning
    case unreadablePassword(String)

    var description: String {
        switch self {
        case .notRunning: return "gatewayd is not running yet (or is stopping); reload ignored"
        case .unreadablePassword(let file): return "uplink.password_file: cannot read \(file) (missing or permission denied)"
        }
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
