// The validated, typed configuration. Defaults live in the initialisers; the
// TOML reader (GatewayConfig) fills these in and reports every problem with
// file, line and key. Modules receive only the part they need.

/// The whole gateway configuration after validation.
public struct GatewayConfiguration: Sendable {
    public var gateway: GatewaySettings
    public var buffer: BufferSettings
    /// `nil`: no `[uplink]` table or no `url`; the gateway runs buffer-only.
    public var uplink: UplinkSettings?
    public var buses: [BusConfiguration]
    public var devices: [DeviceConfiguration]
    public var detectors: [DetectorConfiguration]
    public var control: ControlSettings
    public var metrics: MetricsSettings
    /// The file this was read from, for messages.
    public var sourcePath: String

    public init(gateway: GatewaySettings, buffer: BufferSettings = .init(), uplink: UplinkSettings? = nil,
                buses: [BusConfiguration] = [], devices: [DeviceConfiguration] = [],
                detectors: [DetectorConfiguration] = [], control: ControlSettings = .init(), metrics: MetricsSettings = .init(),
                sourcePath: String = "") {
        self.gateway = gateway
        self.buffer = buffer
        self.uplink = uplink
        self.buses = buses
        self.devices = devices
        self.detectors = detectors
        self.control = control
        self.metrics = metrics
        self.sourcePath = sourcePath
    }
}

/// When the box clock counts as trustworthy. Until then readings carry
/// `clock_unsynced`; when it becomes trusted their timestamps are corrected.
public enum ClockTrust: String, Sendable, CaseIterable {
    /// A year the box cannot have booted into by itself (2024 or later). Works everywhere.
    case plausibleYear = "plausible-year"
    /// systemd-timesyncd says it synchronised (`/run/systemd/timesync/synchronized` exists).
    case timesyncd
    /// An RTC or GNSS clock: always trusted.
    case always
}

public struct GatewaySettings: Sendable, Equatable {
    /// Required. Used in topics and payloads.
    public var id: String
    /// The SQLite buffer lives here. Default `/var/lib/gatewayd`.
    public var dataDirectory: String
    /// Default `plausible-year`.
    public var clockTrust: ClockTrust

    public init(id: String, dataDirectory: String = "/var/lib/gatewayd", clockTrust: ClockTrust = .plausibleYear) {
        self.id = id
        self.dataDirectory = dataDirectory
        self.clockTrust = clockTrust
    }

    /// The buffer database file inside `dataDirectory`.
    public var bufferPath: String { dataDirectory + "/buffer.sqlite" }
}

public enum Durability: String, Sendable, CaseIterable {
    /// WAL with synchronous=NORMAL: a power cut can lose the last commit group(s) not yet checkpointed to disk.
    case normal
    /// WAL with synchronous=FULL: nothing committed is ever lost.
    case full
}

public struct BufferSettings: Sendable, Equatable {
    /// Retention bound on the database size. Default 1 GB.
    public var maxSizeBytes: Int64
    /// Retention bound on age. Default 30 days.
    public var maxAge: Duration
    public var durability: Durability
    /// A commit group closes when it holds this many records (default 2000) ...
    public var commitMaxRecords: Int
    /// ... or when its first record has waited this long (default 200 ms).
    public var commitMaxDelay: Duration
    /// Records held in memory while the disk is full (default 100000); beyond this the oldest are dropped and announced.
    public var memoryQueueRecords: Int

    public init(maxSizeBytes: Int64 = 1_000_000_000, maxAge: Duration = .seconds(30 * 86_400),
                durability: Durability = .normal, commitMaxRecords: Int = 2000,
                commitMaxDelay: Duration = .milliseconds(200), memoryQueueRecords: Int = 100_000) {
        self.maxSizeBytes = maxSizeBytes
        self.maxAge = maxAge
        self.durability = durability
        self.commitMaxRecords = commitMaxRecords
        self.commitMaxDelay = commitMaxDelay
        self.memoryQueueRecords = memoryQueueRecords
    }
}

public enum ReplayOrder: String, Sendable, CaseIterable {
    /// New readings go out at once; the backlog drains behind them.
    case liveFirst = "live-first"
    /// Everything in `seq` order; live readings wait for the backlog.
    case fifo
}

public struct BrokerAddress: Sendable, Equatable {
    public var tls: Bool
    public var host: String
    public var port: Int

    public init(tls: Bool, host: String, port: Int) {
        self.tls = tls
        self.host = host
        self.port = port
    }

    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]` (default ports 1883 / 8883).
    public init?(url: String) {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("mqtts://") { tls = true; rest = url.dropFirst(8) }
        else if url.hasPrefix("mqtt://") { tls = false; rest = url.dropFirst(7) }
        else { return nil }
        let hostPort = rest.hasSuffix("/") ? rest.dropLast() : rest
        guard !hostPort.isEmpty, !hostPort.contains("/" as Character), !hostPort.contains("@" as Character) else { return nil }
        var host = String(hostPort)
        var port = tls ? 8883 : 1883
        if hostPort.hasPrefix("[") {  // [::1]:1883
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            } else if !after.isEmpty { return nil }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        }
        guard !host.isEmpty else { return nil }
        self.init(tls: tls, host: host, port: port)
    }

    public var url: String {
        let h = host.contains(":" as Character) ? "[\(host)]" : host
        return "\(tls ? "mqtts" : "mqtt")://\(h):\(port)"
    }
}

public struct UplinkSettings: Sendable, Equatable {
    public var broker: BrokerAddress
    /// Topics live under `{topicPrefix}/{gateway id}/`. Default `gatewayd`.
    public var topicPrefix: String
    /// Default: the gateway id.
    public var clientID: String
    public var username: String?
    public var passwordFile: String?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Default 500.
    public var batchMaxReadings: Int
    /// Default 2 s.
    public var batchMaxDelay: Duration
    /// MQTT keepalive, default 30 s.
    public var keepAlive: Duration
    /// QoS 1 messages published and not yet acknowledged, default 64.
    public var maxInflightMessages: Int
    public var replay: ReplayOrder
    /// Backlog readings per second (`replay_rate`), default 20000; 0 = as fast as the broker acknowledges.
    public var replayRateReadingsPerSecond: Int
    /// First reconnect delay, doubled (with jitter) up to `reconnectMaxDelay`. Defaults 1 s and 60 s.
    public var reconnectMinDelay: Duration
    public var reconnectMaxDelay: Duration

    public init(broker: BrokerAddress, topicPrefix: String = "gatewayd", clientID: String,
                username: String? = nil, passwordFile: String? = nil, caFile: String? = nil,
                certFile: String? = nil, keyFile: String? = nil, batchMaxReadings: Int = 500,
                batchMaxDelay: Duration = .seconds(2), keepAlive: Duration = .seconds(30),
                maxInflightMessages: Int = 64, replay: ReplayOrder = .liveFirst,
                replayRateReadingsPerSecond: Int = 20000, reconnectMinDelay: Duration = .seconds(1),
                reconnectMaxDelay: Duration = .seconds(60)) {
        self.broker = broker
        self.topicPrefix = topicPrefix
        self.clientID = clientID
        self.username = username
        self.passwordFile = passwordFile
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.batchMaxReadings = batchMaxReadings
        self.batchMaxDelay = batchMaxDelay
        self.keepAlive = keepAlive
        self.maxInflightMessages = maxInflightMessages
        self.replay = replay
        self.replayRateReadingsPerSecond = replayRateReadingsPerSecond
        self.reconnectMinDelay = reconnectMinDelay
        self.reconnectMaxDelay = reconnectMaxDelay
    }
}

/// Prometheus metrics in node_exporter's textfile format (no extra service on the box).
public struct MetricsSettings: Sendable, Equatable {
    /// Where `gatewayd.prom` is written (atomically); `nil`: no metrics file.
    public var textfileDirectory: String?
    /// How often metrics are written and the systemd STATUS= line refreshed. Default 10 s.
    public var interval: Duration

    public init(textfileDirectory: String? = nil, interval: Duration = .seconds(10)) {
        self.textfileDirectory = textfileDirectory
        self.interval = interval
    }
}

/// The local control socket `gatewayctl status` talks to.
public struct ControlSettings: Sendable, Equatable {
    /// Default: `{data_dir}/gatewayd.sock` when empty.
    public var socketPath: String?
    public init(socketPath: String? = nil) { self.socketPath = socketPath }
}
