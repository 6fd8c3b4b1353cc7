import BufferStore
import ControlChannel
import Drivers
import GatewayModel
import Logging
import Uplink

#if canImport(Glibc)
import Glibc
#endif

/// Answers gatewayctl on the control socket from the running components.
///
/// `status()` runs on the control thread and may open a read-only buffer
/// connection there; `read` goes through the named bus's owner thread
/// (`FieldBus.execute`), so a technician's probe never becomes a second master
/// on an RS-485 line.
final class ControlEndpoint: ControlResponder, @unchecked Sendable {
    // Invariant: the component references are fixed at init; `reader` is only
    // touched by `status()`, which the control server calls from its one thread.
    private let configuration: GatewayConfiguration
    private let store: BufferStore
    private let buses: [FieldBus]
    private let uplink: Uplink?
    private let startedAtMilliseconds: Int64
    private let clock: GatewayClock
    private var reader: BufferReader?

    init(configuration: GatewayConfiguration, store: BufferStore, buses: [FieldBus], uplink: Uplink?,
         startedAtMilliseconds: Int64, clock: GatewayClock) {
        self.configuration = configuration
        self.store = store
        self.buses = buses
        self.uplink = uplink
        self.startedAtMilliseconds = startedAtMilliseconds
        self.clock = clock
    }

    func status() throws -> DaemonStatus {
        if reader == nil { reader = try BufferReader(path: store.path) }
        let reader = reader!
        let backlog = try reader.backlog()
        let alarms = try reader.alarms(activeOnly: true)
        let writer = store.statistics()
        return DaemonStatus(gatewayID: configuration.gateway.id, version: GatewayRuntime.version, processID: getpid(),
                            startedAtMilliseconds: startedAtMilliseconds, nowMilliseconds: clock.wallMilliseconds(),
                            store: store.storeID, bufferPath: store.path, uplink: uplink?.status(),
                            buses: buses.map { $0.status() }, pendingRecords: backlog.records,
                            oldestPendingMilliseconds: backlog.oldestMilliseconds, lastSeq: writer.lastSeq,
                            heldInMemory: writer.heldInMemory, diskFull: writer.diskFull, activeAlarms: alarms)
    }

    func read(bus: String, request: RegisterRequest) async throws -> RegisterResponse {
        guard let target = buses.first(where: { $0.configuration.name == bus }) else {
            throw ModbusError.invalidRequest("gatewayd has no bus named \"\(bus)\" (it runs: \(buses.map(\.configuration.name).joined(separator: ", ")))")
        }
        return try await target.execute(request)
    }
}

extension GatewayRuntime {
    /// Starts the control socket for gatewayctl (`status`, reads through the bus owners).
    /// A socket that cannot be created is logged and the gateway runs on without it;
    /// another daemon answering on the same socket stops this one (they would share a buffer).
    func startControlServer(store: BufferStore) throws -> ControlServer? {
        let path = ControlSocketPath.path(for: configuration)
        let endpoint = ControlEndpoint(configuration: configuration, store: store, buses: buses, uplink: uplink,
                                       startedAtMilliseconds: startedAtMilliseconds, clock: clock)
        let log = logger.with(label: "control")
        let server = ControlServer(path: path, responder: endpoint) { line in log.warning("\(line)") }
        do {
            try server.start()
        } catch ControlChannelError.alreadyServed(let p) {
            throw ControlChannelError.alreadyServed(path: p)
        } catch {
            logger.error("control socket unavailable; gatewayctl status will not reach this daemon", metadata: ["error": "\(error)"])
            return nil
        }
        logger.info("control socket listening", metadata: ["path": "\(path)"])
        return server
    }
}
