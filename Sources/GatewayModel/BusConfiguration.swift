public enum BusType: String, Sendable, CaseIterable {
    case modbusTCP = "modbus-tcp"
    case modbusRTU = "modbus-rtu"
    case serialLine = "serial-line"
}

public enum Parity: String, Sendable, CaseIterable {
    case none, even, odd
}

public enum SerialLineProtocol: String, Sendable, CaseIterable {
    case parking
}

/// One `[[bus]]`: a line (or TCP endpoint) owned by exactly one bus thread.
public struct BusConfiguration: Sendable, Equatable {
    public var name: String
    public var type: BusType
    // modbus-tcp
    public var host: String
    /// Default 502.
    public var port: Int
    // modbus-rtu and serial-line
    public var device: String
    /// Default 9600.
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int
    /// Response timeout. Default 1 s for TCP, 500 ms for RTU.
    public var timeout: Duration
    /// Extra silence after each transaction for slow devices, on top of the 3.5 character times. Default 0.
    public var turnaroundDelay: Duration
    /// Use the kernel's RS-485 mode (TIOCSRS485) where the port supports it. Default true.
    public var rs485: Bool
    // serial-line
    public var lineProtocol: SerialLineProtocol?
    /// State changes shorter than this are ignored (a car manoeuvring). Default 2 s.
    public var debounce: Duration
    /// A detector silent longer than this is reported `comm_error`. Default 15 m.
    public var heartbeatTimeout: Duration

    public init(name: String, type: BusType, host: String = "", port: Int = 502, device: String = "",
                baud: Int = 9600, parity: Parity = .none, dataBits: Int = 8, stopBits: Int = 1,
                timeout: Duration? = nil, turnaroundDelay: Duration = .zero, rs485: Bool = true,
                lineProtocol: SerialLineProtocol? = nil, debounce: Duration = .seconds(2),
                heartbeatTimeout: Duration = .seconds(900)) {
        self.name = name
        self.type = type
        self.host = host
        self.port = port
        self.device = device
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.timeout = timeout ?? (type == .modbusTCP ? .seconds(1) : .milliseconds(500))
        self.turnaroundDelay = turnaroundDelay
        self.rs485 = rs485
        self.lineProtocol = lineProtocol
        self.debounce = debounce
        self.heartbeatTimeout = heartbeatTimeout
    }
}
