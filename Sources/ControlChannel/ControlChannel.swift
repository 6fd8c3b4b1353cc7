// The control channel between gatewayd and gatewayctl (messages, framing).
//
// Protocol (version 1): a Unix stream socket; the client writes ONE request as
// a single line of JSON terminated by "\n", the server answers with ONE line of
// JSON and closes the connection. One request per connection keeps both ends
// trivial and lets the server handle connections one at a time on its thread.
import BufferStore
import Drivers
import GatewayModel
import Uplink

/// What gatewayctl asks the daemon.
public struct ControlRequest: Sendable, Codable, Equatable {
    public enum Verb: String, Sendable, Codable {
        /// A `DaemonStatus` snapshot.
        case status
        /// One raw Modbus read on a configured bus, serialised with the bus's polling.
        case read
    }
    public var verb: Verb
    // `read`
    public var bus: String?
    public var unitID: Int?
    /// `holding`, `input`, `coil`, `discrete`.
    public var table: String?
    public var address: Int?
    public var count: Int?

    public init(verb: Verb, bus: String? = nil, unitID: Int? = nil, table: String? = nil, address: Int? = nil, count: Int? = nil) {
        self.verb = verb
        self.bus = bus
        self.unitID = unitID
        self.table = table
        self.address = address
        self.count = count
    }

    public static let status = ControlRequest(verb: .status)

    public static func read(bus: String, _ r: RegisterRequest) -> ControlRequest {
        ControlRequest(verb: .read, bus: bus, unitID: r.unitID, table: r.table.rawValue, address: r.address, count: r.count)
    }

    /// The register request of a `read`, or nil when a field is missing or invalid.
    public var registerRequest: RegisterRequest? {
        guard let unitID, let table, let t = RegisterTable(rawValue: table), let address, let count else { return nil }
        return RegisterRequest(unitID: unitID, table: t, address: address, count: count)
    }
}

/// The daemon's answer. `error` set means the request failed (the text is for people).
public struct ControlResponse: Sendable, Codable, Equatable {
    public var error: String?
    public var status: DaemonStatus?
    /// `read`: registers (holding/input) or bits (coil/discrete).
    public var registers: [UInt16]?
    public var bits: [Bool]?
    /// `read`: round trip through the bus owner, queueing included.
    public var latencyMilliseconds: Double?
    /// `read` failed because the unit answered with this Modbus exception (it is there, the address is not).
    public var modbusException: Int?

    public init(error: String? = nil, status: DaemonStatus? = nil, registers: [UInt16]? = nil, bits: [Bool]? = nil,
                latencyMilliseconds: Double? = nil, modbusException: Int? = nil) {
        self.error = error
        self.modbusException = modbusException
        self.status = status
        self.registers = registers
        self.bits = bits
        self.latencyMilliseconds = latencyMilliseconds
    }
}

/// What `gatewayctl status` shows.
public struct DaemonStatus: Sendable, Codable, Equatable {
    public var gatewayID: String
    public var version: String
    public var processID: Int32
    public var startedAtMilliseconds: Int64
    public var nowMilliseconds: Int64
    public var store: String
    public var bufferPath: String
    /// nil when the gateway runs buffer-only (no `[uplink]`).
    public var uplink: UplinkStatus?
    public var buses: [BusStatus]
    public var pendingRecords: Int64
    public var oldestPendingMilliseconds: Int64?
    public var lastSeq: UInt64
    /// Records the store writer holds in memory (disk full).
    public var heldInMemory: Int
    public var diskFull: Bool
    /// Active alarms as the `alarms` table holds them (latest transition per alarm id).
    public var activeAlarms: [AlarmRow]

    public init(gatewayID: String, version: String, processID: Int32, startedAtMilliseconds: Int64, nowMilliseconds: Int64,
                store: String, bufferPath: String, uplink: UplinkStatus?, buses: [BusStatus], pendingRecords: Int64,
                oldestPendingMilliseconds: Int64?, lastSeq: UInt64, heldInMemory: Int, diskFull: Bool, activeAlarms: [AlarmRow]) {
        self.gatewayID = gatewayID
        self.version = version
        self.processID = processID
        self.startedAtMilliseconds = startedAtMilliseconds
        self.nowMilliseconds = nowMilliseconds
        self.store = store
        self.bufferPath = bufferPath
        self.uplink = uplink
        self.buses = buses
        self.pendingRecords = pendingRecords
        self.oldestPendingMilliseconds = oldestPendingMilliseconds
        self.lastSeq = lastSeq
        self.heldInMemory = heldInMemory
        self.diskFull = diskFull
        self.activeAlarms = activeAlarms
    }
}

/// Where the control socket lives for a configuration: `[control] socket`, else `{data_dir}/gatewayd.sock`.
public enum ControlSocketPath {
    public static func path(for configuration: GatewayConfiguration) -> String {
        configuration.control.socketPath ?? (configuration.gateway.dataDirectory + "/gatewayd.sock")
    }
}

/// What went wrong on the control socket, in words a maintainer can act on.
public enum ControlChannelError: Error, CustomStringConvertible, Equatable {
    /// No socket file, or nobody listening on it.
    case notRunning(path: String)
    /// The socket exists but this user may not connect.
    case permissionDenied(path: String)
    /// The daemon did not answer in time.
    case timeout(path: String, seconds: Double)
    /// The answer could not be understood (a different gatewayd version?).
    case badMessage(String)
    /// Creating, binding or listening on the socket failed (daemon side).
    case cannotListen(path: String, reason: String)
    /// Another gatewayd already answers on this socket (daemon side).
    case alreadyServed(path: String)
    /// The socket path does not fit a sockaddr_un (107 bytes).
    case pathTooLong(path: String)
    /// Reading or writing the socket failed.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .notRunning(let path):
            return "gatewayd is not running (no control socket at \(path))"
        case .permissionDenied(let path):
            return "permission denied on the control socket \(path) — run as root or as a member of the gatewayd group"
        case .timeout(let path, let seconds):
            return "gatewayd did not answer on \(path) within \(seconds) s"
        case .badMessage(let detail):
            return "unexpected answer from gatewayd (\(detail)) — are gatewayd and gatewayctl the same version?"
        case .cannotListen(let path, let reason):
            return "cannot create the control socket \(path): \(reason)"
        case .alreadyServed(let path):
            return "another gatewayd already answers on \(path); two daemons must not share a data_dir"
        case .pathTooLong(let path):
            return "the control socket path \(path) is longer than 107 bytes; set [control] socket to a shorter path"
        case .io(let path, let reason):
            return "control socket \(path): \(reason)"
        }
    }
}
