import GatewayModel

/// Reads one parsed document section by section. Every accessor reports to
/// the shared log; `read` returns a configuration only if one could be built,
/// and the caller throws if anything was reported.
struct ConfigDocument {
    let root: ConfigSection
    let purpose: ConfigPurpose

    static let topLevelKeys = ["gateway", "buffer", "uplink", "control", "metrics", "bus", "device", "detector"]

    func read(sourcePath: String) -> GatewayConfiguration? {
        root.checkKeys(allowed: ConfigDocument.topLevelKeys)
        let gateway = readGateway()
        let buffer = readBuffer()
        let control = readControl()
        let metrics = readMetrics()
        let uplink = readUplink(gatewayID: gateway?.id)
        let buses = readBuses()
        let devices = readDevices(buses: buses)
        let detectors = readDetectors(devices: devices)
        guard let gateway, let buffer else { return nil }
        return GatewayConfiguration(gateway: gateway, buffer: buffer, uplink: uplink ?? nil,
                                    buses: buses.configurations, devices: devices.configurations,
                                    detectors: detectors, control: control ?? ControlSettings(), metrics: metrics ?? MetricsSettings(),
                                    sourcePath: sourcePath)
    }

    // MARK: [gateway]

    private func readGateway() -> GatewaySettings? {
        guard root.has("gateway") else {
            root.log.report("gateway.id", "required key is missing (add a [gateway] table with id = \"...\"; the id names this gateway in MQTT topics and payloads)", line: 1)
            return nil
        }
        guard let section = root.table("gateway") else { return nil }
        section.checkKeys(allowed: ["id", "data_dir", "clock_trust"])
        let id = section.requiredString("id", "the id names this gateway in MQTT topics and payloads, e.g. id = \"gw-dma07-01\"")
        if let id { Identifier.check(id, key: "id", in: section, usedIn: "MQTT topics") }
        var settings = GatewaySettings(id: id ?? "")
        if let dataDirectory = section.string("data_dir") {
            if dataDirectory.isEmpty { section.report("data_dir", "must not be empty (the directory that holds the buffer database)") }
            else { settings.dataDirectory = dataDirectory }
        }
        if let v = section.word("clock_trust", in: .clockTrust) { settings.clockTrust = ClockTrust(rawValue: v)! }
        return id == nil ? nil : settings
    }

    // MARK: [buffer]

    private func readBuffer() -> BufferSettings? {
        var settings = BufferSettings()
        guard root.has("buffer") else { return settings }
        guard let section = root.table("buffer") else { return nil }
        section.checkKeys(allowed: ["max_size", "max_age", "durability", "commit_max_records", "commit_max_delay", "memory_queue_records"])
        if let v = section.size("max_size") { settings.maxSizeBytes = v }
        if let v = section.duration("max_age") { settings.maxAge = v }
        if let v = section.word("durability", in: .durability) { settings.durability = Durability(rawValue: v)! }
        if let v = section.integer("commit_max_records", range: 1...Int.max) { settings.commitMaxRecords = v }
        if let v = section.duration("commit_max_delay") { settings.commitMaxDelay = v }
        if let v = section.integer("memory_queue_records", range: 1...Int.max) { settings.memoryQueueRecords = v }
        return settings
    }

    // MARK: [metrics]

    private func readMetrics() -> MetricsSettings? {
        guard root.has("metrics") else { return MetricsSettings() }
        guard let section = root.table("metrics") else { return nil }
        section.checkKeys(allowed: ["textfile_dir", "interval"])
        var settings = MetricsSettings()
        if let dir = section.string("textfile_dir") {
            if dir.isEmpty { section.report("textfile_dir", "must not be empty; leave it out for no metrics file") }
            else { settings.textfileDirectory = dir }
        }
        if let v = section.duration("interval") { settings.interval = v }
        return settings
    }

    // MARK: [control]

    private func readControl() -> ControlSettings? {
        guard root.has("control") else { return ControlSettings() }
        guard let section = root.table("control") else { return nil }
        section.checkKeys(allowed: ["socket"])
        var settings = ControlSettings()
        if let socket = section.string("socket") {
            if socket.isEmpty {
                section.report("socket", "must not be empty; leave it out to use {data_dir}/gatewayd.sock")
            } else if socket.utf8.count > 107 {
                // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
                section.report("socket", "the path is \(socket.utf8.count) bytes long; a Unix socket path can have at most 107")
            } else {
                settings.socketPath = socket
            }
        }
        return settings
    }

    // MARK: [uplink]

    static let uplinkKeys = ["url", "topic_prefix", "client_id", "username", "password_file", "ca_file", "cert_file", "key_file",
                             "batch_max_readings", "batch_max_delay", "keepalive", "max_inflight", "replay", "replay_rate",
                             "reconnect_min_delay", "reconnect_max_delay"]

    /// `.some(nil)`: no uplink configured (buffer only). `nil`: the table is unusable.
    private func readUplink(gatewayID: String?) -> UplinkSettings?? {
        guard root.has("uplink") else { return .some(nil) }
        guard let section = root.table("uplink") else { return nil }
        section.checkKeys(allowed: ConfigDocument.uplinkKeys)

        var broker: BrokerAddress?
        if let url = section.string("url") {
            broker = BrokerAddress(url: url)
            if broker == nil {
                section.report("url", "\(ConfigValue.quote(url)) is not a broker address; write mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS), e.g. \"mqtts://broker.example.net:8883\"")
            }
        }
        var settings = UplinkSettings(broker: broker ?? BrokerAddress(tls: false, host: "", port: 1883), clientID: gatewayID ?? "")
        if let prefix = section.string("topic_prefix") {
            if let problem = ConfigDocument.topicPrefixProblem(prefix) { section.report("topic_prefix", problem) }
            else { settings.topicPrefix = prefix }
        }
        if let clientID = section.string("client_id") {
            if clientID.isEmpty { section.report("client_id", "must not be empty; leave it out to use the gateway id") }
            else { settings.clientID = clientID }
        }
        if let username = section.string("username") {
            if username.isEmpty { section.report("username", "must not be empty; leave it out to connect without a user name") }
            else { settings.username = username }
        }
        settings.passwordFile = nonEmptyPath("password_file", in: section)
        settings.caFile = nonEmptyPath("ca_file", in: section)
        settings.certFile = nonEmptyPath("cert_file", in: section)
        settings.keyFile = nonEmptyPath("key_file", in: section)

        if settings.passwordFile != nil && section.has("password_file") && !section.has("username") {
            section.report("password_file", "a password needs a username; add username = \"...\" or remove password_file")
        }
        if let broker, !broker.tls {
            for key in ["ca_file", "cert_file", "key_file"] where section.has(key) {
                section.report(key, "only used with TLS, but the url is \(broker.url); use an mqtts:// url or remove \(key)")
            }
        }
        if section.has("cert_file") && !section.has("key_file") {
            section.report("cert_file", "a client certificate needs its private key; add key_file = \"...\"")
        }
        if section.has("key_file") && !section.has("cert_file") {
            section.report("key_file", "a private key needs its client certificate; add cert_file = \"...\"")
        }

        if let v = section.integer("batch_max_readings", range: 1...Int.max) { settings.batchMaxReadings = v }
        if let v = section.duration("batch_max_delay") { settings.batchMaxDelay = v }
        if let v = section.duration("keepalive") {
            // mosquitto refuses keepalives under 5 s; MQTT carries it as 16-bit seconds.
            if v < .seconds(5) || v > .seconds(65_535) {
                section.report("keepalive", "\(ConfigUnits.text(v)) is out of range (5s–65535s)")
            } else {
                settings.keepAlive = v
            }
        }
        if let v = section.integer("max_inflight", range: 1...65_535) { settings.maxInflightMessages = v }
        if let v = section.word("replay", in: .replayOrder) { settings.replay = ReplayOrder(rawValue: v)! }
        if let v = section.integer("replay_rate", range: 0...Int.max) { settings.replayRateReadingsPerSecond = v }
        let minDelay = section.duration("reconnect_min_delay")
        let maxDelay = section.duration("reconnect_max_delay")
        if let minDelay { settings.reconnectMinDelay = minDelay }
        if let maxDelay { settings.reconnectMaxDelay = maxDelay }
        if (minDelay != nil || maxDelay != nil) && settings.reconnectMaxDelay < settings.reconnectMinDelay {
            let key = maxDelay != nil ? "reconnect_max_delay" : "reconnect_min_delay"
            section.report(key, "reconnect_max_delay (\(ConfigUnits.text(settings.reconnectMaxDelay))) must not be shorter than reconnect_min_delay (\(ConfigUnits.text(settings.reconnectMinDelay)))")
        }
        // Without a url the gateway runs buffer-only; the other keys are still checked above.
        guard broker != nil else { return section.has("url") ? nil : .some(nil) }
        return .some(settings)
    }

    private func nonEmptyPath(_ key: String, in section: ConfigSection) -> String? {
        guard let path = section.string(key) else { return nil }
        if path.isEmpty { section.report(key, "must not be empty; give a file path or leave the key out"); return nil }
        return path
    }

    /// Topics are `{prefix}/{gateway}/...`: no wildcards, no empty levels.
    static func topicPrefixProblem(_ prefix: String) -> String? {
        if prefix.isEmpty { return "must not be empty (topics are PREFIX/GATEWAY_ID/...)" }
        // Characters, not substrings: String.contains(String) is _StringProcessing's, whose
        // code the daemon otherwise never runs (docs/performance.md, Memory).
        if prefix.contains(where: { $0 == "+" || $0 == "#" }) { return "\(ConfigValue.quote(prefix)) contains an MQTT wildcard (+ or #), which topics cannot contain" }
        if prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            return "\(ConfigValue.quote(prefix)) has an empty topic level; remove the leading, trailing or doubled \"/\""
        }
        if prefix.unicodeScalars.contains(where: { $0.value < 0x20 }) { return "contains a control character" }
        return nil
    }
}

/// Names that end up in MQTT topics, payloads and replay CSV fields.
enum Identifier {
    static let maximumLength = 64

    /// The problem with `name` as an id, or nil: 1–64 letters, digits, `-`, `_` or `.`.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.count > maximumLength { return "\(ConfigValue.quote(name)) is longer than \(maximumLength) characters" }
        let allowed = name.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "-" || s == "_" || s == "."
        }
        if !allowed { return "\(ConfigValue.quote(name)) may only contain letters, digits, \"-\", \"_\" and \".\"" }
        return nil
    }

    @discardableResult
    static func check(_ name: String, key: String, in section: ConfigSection, usedIn: String) -> Bool {
        guard let problem = problem(name) else { return true }
        section.report(key, problem + " (it is used in \(usedIn))")
        return false
    }
}
