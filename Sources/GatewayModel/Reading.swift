/// A point's identity inside one buffer database: a small integer assigned by
/// the store's `points` table, stable for the life of that database. Using an
/// integer (not two strings) keeps a reading a plain value that moves through
/// the bus → store → uplink path without allocating.
public typealias PointID = Int32

/// Why a value can or cannot be trusted. Names are the MQTT contract.
public enum Quality: UInt8, Sendable, CaseIterable, Codable {
    case good = 0
    /// The device did not answer, answered with an exception, or the frame was bad. No value.
    case commError = 1
    /// The box clock was not yet trustworthy when the value was taken.
    case clockUnsynced = 2
    /// A serial detector reported its own fault.
    case deviceFault = 3

    public var name: String {
        switch self {
        case .good: return "good"
        case .commError: return "comm_error"
        case .clockUnsynced: return "clock_unsynced"
        case .deviceFault: return "device_fault"
        }
    }

    public init?(name: String) {
        guard let q = Quality.allCases.first(where: { $0.name == name }) else { return nil }
        self = q
    }
}

/// One value of one point at one instant, as a bus thread produces it.
public struct Reading: Sendable, Equatable {
    public var pointID: PointID
    /// Milliseconds since the Unix epoch (UTC) when the response arrived.
    public var timestampMilliseconds: Int64
    /// The decoded, scaled value; `nil` when the quality says there is none.
    public var value: Double?
    public var quality: Quality

    public init(pointID: PointID, timestampMilliseconds: Int64, value: Double?, quality: Quality) {
        self.pointID = pointID
        self.timestampMilliseconds = timestampMilliseconds
        self.value = value
        self.quality = quality
    }
}

/// A discrete state change (a parking bay becoming occupied). Sent at once, not batched.
public struct DeviceEvent: Sendable, Equatable {
    public var pointID: PointID
    public var timestampMilliseconds: Int64
    /// The new state in words, e.g. `occupied`, `free`, `fault`.
    public var state: String
    public var value: Double?
    public var quality: Quality

    public init(pointID: PointID, timestampMilliseconds: Int64, state: String, value: Double?, quality: Quality = .good) {
        self.pointID = pointID
        self.timestampMilliseconds = timestampMilliseconds
        self.state = state
        self.value = value
        self.quality = quality
    }
}
