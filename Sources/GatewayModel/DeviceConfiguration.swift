public enum DeviceKind: String, Sendable, CaseIterable, Codable {
    case electricityMeter = "electricity_meter"
    case waterMeter = "water_meter"
    case pressureSensor = "pressure_sensor"
    case parkingDetector = "parking_detector"
    case generic
}

/// Which Modbus table a point lives in.
public enum RegisterTable: String, Sendable, CaseIterable {
    case holding, input, coil, discrete

    /// Coils and discrete inputs are bits; holding and input registers are 16-bit words.
    public var isBits: Bool { self == .coil || self == .discrete }
}

public enum PointType: String, Sendable, CaseIterable {
    case int16, uint16, int32, uint32, int64, uint64, float32, float64, bool

    /// How many 16-bit registers (or bits, for `bool` on bit tables) the value spans.
    public var registerCount: Int {
        switch self {
        case .int16, .uint16, .bool: return 1
        case .int32, .uint32, .float32: return 2
        case .int64, .uint64, .float64: return 4
        }
    }
}

public enum ByteOrder: String, Sendable, CaseIterable {
    case big, little
}

/// One `[[device.point]]`: where a value lives and how to turn registers into it.
public struct PointConfiguration: Sendable, Equatable {
    public var name: String
    public var table: RegisterTable
    /// 0-based protocol address (register 40001 is holding address 0).
    public var address: Int
    public var type: PointType
    /// Order of the 16-bit words of a 32/64-bit value. Default big (most significant word first).
    public var wordOrder: ByteOrder
    /// Order of the two bytes within each register. Default big (Modbus standard).
    public var byteOrder: ByteOrder
    /// value = raw * scale + offset
    public var scale: Double
    public var offset: Double
    public var unit: String

    public init(name: String, table: RegisterTable = .holding, address: Int, type: PointType = .uint16,
                wordOrder: ByteOrder = .big, byteOrder: ByteOrder = .big, scale: Double = 1,
                offset: Double = 0, unit: String = "") {
        self.name = name
        self.table = table
        self.address = address
        self.type = type
        self.wordOrder = wordOrder
        self.byteOrder = byteOrder
        self.scale = scale
        self.offset = offset
        self.unit = unit
    }
}

/// One `[[device]]`.
public struct DeviceConfiguration: Sendable, Equatable {
    public var id: String
    public var bus: String
    /// Modbus unit (slave) id, 1–247 (0 is broadcast, 255 is common for TCP gateways). Default 1.
    public var unitID: Int
    public var kind: DeviceKind
    /// Poll interval, default 10 s.
    public var interval: Duration
    /// Parking detectors on a serial line: the detector's bay id in its frames.
    public var bay: String?
    /// A built-in register map used in place of `points`, e.g. `eastron-sdm120`.
    public var profile: String?
    public var points: [PointConfiguration]

    public init(id: String, bus: String, unitID: Int = 1, kind: DeviceKind = .generic,
                interval: Duration = .seconds(10), bay: String? = nil, profile: String? = nil,
                points: [PointConfiguration] = []) {
        self.id = id
        self.bus = bus
        self.unitID = unitID
        self.kind = kind
        self.interval = interval
        self.bay = bay
        self.profile = profile
        self.points = points
    }
}

/// A scalar from the config file, for detector parameters whose meaning only
/// the Detection module knows.
public enum ConfigScalar: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)

    public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

/// One `[[detector]]`. Parameters stay untyped here; Detection validates and
/// interprets them (and says which are wrong).
public struct DetectorConfiguration: Sendable, Equatable {
    public var type: String
    public var device: String
    public var point: String?
    public var parameters: [String: ConfigScalar]
    /// The line of the `[[detector]]` header and of each parameter, for messages.
    public var line: Int
    public var parameterLines: [String: Int]

    public init(type: String, device: String, point: String? = nil, parameters: [String: ConfigScalar] = [:],
                line: Int = 0, parameterLines: [String: Int] = [:]) {
        self.type = type
        self.device = device
        self.point = point
        self.parameters = parameters
        self.line = line
        self.parameterLines = parameterLines
    }
}
