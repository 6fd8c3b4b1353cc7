import GatewayModel

/// Where a bus thread hands what it produced. Called on the bus thread; it may
/// block when the store is behind (backpressure: the bus waits, nothing is dropped).
public protocol ReadingSink: AnyObject, Sendable {
    /// One poll's readings of one device, stamped when the response arrived.
    func deliver(readings: [Reading])
    /// A discrete state change (parking occupancy), to be sent at once.
    func deliver(event: DeviceEvent)
}

/// A configured device with the store's ids for its points, in the order of
/// `DevicePoints.points(for:)`.
public struct BusDevice: Sendable {
    public var configuration: DeviceConfiguration
    public var pointIDs: [PointID]

    public init(configuration: DeviceConfiguration, pointIDs: [PointID]) {
        self.configuration = configuration
        self.pointIDs = pointIDs
    }
}

/// What a device's health looks like from its bus, for `gatewayctl status` and metrics.
public struct DeviceStatus: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case unknown, ok, failing, backoff }
    public var id: String
    public var state: State
    public var lastGoodPollMilliseconds: Int64?
    public var pollsOK: UInt64
    public var pollsFailed: UInt64
    public var consecutiveFailures: UInt64
    /// The last error in words, e.g. "no answer from unit 7 on rs485-1 within 500 ms".
    public var lastError: String?

    public init(id: String, state: State = .unknown, lastGoodPollMilliseconds: Int64? = nil, pollsOK: UInt64 = 0,
                pollsFailed: UInt64 = 0, consecutiveFailures: UInt64 = 0, lastError: String? = nil) {
        self.id = id
        self.state = state
        self.lastGoodPollMilliseconds = lastGoodPollMilliseconds
        self.pollsOK = pollsOK
        self.pollsFailed = pollsFailed
        self.consecutiveFailures = consecutiveFailures
        self.lastError = lastError
    }
}

/// A snapshot of one bus, safe to take from any thread.
public struct BusStatus: Sendable, Equatable, Codable {
    public var name: String
    public var type: String
    /// Whether the port/connection is open now.
    public var connected: Bool
    /// Share of wall time the line was busy with transactions over the last minute, 0…1.
    public var utilisation: Double
    public var devices: [DeviceStatus]
    /// Line-level counters (CRC errors, garbage bytes, bad frames, unknown bays, lost frames, reopen count…) by name.
    public var counters: [String: UInt64]
    /// Monotonic nanoseconds of the bus thread's last sign of life, for the watchdog.
    public var lastProgressMonotonicNanoseconds: UInt64

    public init(name: String, type: String, connected: Bool = false, utilisation: Double = 0,
                devices: [DeviceStatus] = [], counters: [String: UInt64] = [:], lastProgressMonotonicNanoseconds: UInt64 = 0) {
        self.name = name
        self.type = type
        self.connected = connected
        self.utilisation = utilisation
        self.devices = devices
        self.counters = counters
        self.lastProgressMonotonicNanoseconds = lastProgressMonotonicNanoseconds
    }
}

/// One bus runner: owns its line on its own thread.
protocol BusRunner: AnyObject, Sendable {
    func start()
    /// Stops polling, finishes the transaction in progress, joins the thread. Blocks the caller.
    func stop()
    func status() -> BusStatus
}
