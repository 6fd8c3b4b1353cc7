import GatewayModel

/// The effective configuration as TOML, for `gatewayctl config show`.
///
/// Every key is written with its effective value, defaults included, so a
/// technician sees what the daemon will really do. Reading the output back
/// gives the same configuration (profiles are written by name, their points
/// listed in comments). The configuration holds no secret values itself
/// (passwords live in `password_file`, which is never opened here); detector
/// parameters whose names suggest a secret (`password`, `secret`, `token`)
/// are written as `"********"`.
public enum ConfigRenderer {
    public static let mask = "********"

    public static func render(_ c: GatewayConfiguration) -> String {
        var out = TOMLWriter()
        if !c.sourcePath.isEmpty { out.comment("Effective configuration read from \(c.sourcePath), defaults filled in.") }

        out.table("gateway")
        out.key("id", string: c.gateway.id)
        out.key("data_dir", string: c.gateway.dataDirectory)
        out.key("clock_trust", string: c.gateway.clockTrust.rawValue)

        out.table("buffer")
        out.key("max_size", string: sizeText(c.buffer.maxSizeBytes))
        out.key("max_age", duration: c.buffer.maxAge)
        out.key("durability", string: c.buffer.durability.rawValue)
        out.key("commit_max_records", int: c.buffer.commitMaxRecords)
        out.key("commit_max_delay", duration: c.buffer.commitMaxDelay)
        out.key("memory_queue_records", int: c.buffer.memoryQueueRecords)

        out.table("metrics")
        if let dir = c.metrics.textfileDirectory { out.key("textfile_dir", string: dir) }
        else { out.comment("textfile_dir: not set, so no metrics file") }
        out.key("interval", duration: c.metrics.interval)

        out.table("control")
        if let socket = c.control.socketPath { out.key("socket", string: socket) }
        else { out.comment("socket: not set, so {data_dir}/gatewayd.sock") }

        if let u = c.uplink {
            out.table("uplink")
            out.key("url", string: u.broker.url)
            out.key("topic_prefix", string: u.topicPrefix)
            out.key("client_id", string: u.clientID)
            if let v = u.username { out.key("username", string: v) }
            if let v = u.passwordFile { out.key("password_file", string: v) }
            if let v = u.caFile { out.key("ca_file", string: v) }
            if let v = u.certFile { out.key("cert_file", string: v) }
            if let v = u.keyFile { out.key("key_file", string: v) }
            out.key("batch_max_readings", int: u.batchMaxReadings)
            out.key("batch_max_delay", duration: u.batchMaxDelay)
            out.key("keepalive", duration: u.keepAlive)
            out.key("max_inflight", int: u.maxInflightMessages)
            out.key("replay", string: u.replay.rawValue)
            out.key("replay_rate", int: u.replayRateReadingsPerSecond)
            out.key("reconnect_min_delay", duration: u.reconnectMinDelay)
            out.key("reconnect_max_delay", duration: u.reconnectMaxDelay)
        } else {
            out.blank()
            out.comment("[uplink]: no url, so the gateway runs buffer-only")
        }

        for bus in c.buses {
            out.arrayTable("bus")
            out.key("name", string: bus.name)
            out.key("type", string: bus.type.rawValue)
            switch bus.type {
            case .modbusTCP:
                out.key("host", string: bus.host)
                out.key("port", int: bus.port)
                out.key("timeout", duration: bus.timeout)
                out.key("turnaround_delay", duration: bus.turnaroundDelay)
            case .modbusRTU, .serialLine:
                if let p = bus.lineProtocol { out.key("protocol", string: p.rawValue) }
                out.key("device", string: bus.device)
                out.key("baud", int: bus.baud)
                out.key("parity", string: bus.parity.rawValue)
                out.key("data_bits", int: bus.dataBits)
                out.key("stop_bits", int: bus.stopBits)
                out.key("rs485", bool: bus.rs485)
                out.key("timeout", duration: bus.timeout)
                if bus.type == .modbusRTU {
                    out.key("turnaround_delay", duration: bus.turnaroundDelay)
                } else {
                    out.key("debounce", duration: bus.debounce)
                    out.key("heartbeat_timeout", duration: bus.heartbeatTimeout)
                }
            }
        }

        let serialBuses = Set(c.buses.filter { $0.type == .serialLine }.map(\.name))
        for device in c.devices {
            out.arrayTable("device")
            out.key("id", string: device.id)
            out.key("bus", string: device.bus)
            out.key("kind", string: device.kind.rawValue)
            if serialBuses.contains(device.bus) {
                if let bay = device.bay { out.key("bay", string: bay) }
                if let profile = device.profile { out.key("profile", string: profile) }
                continue
            }
            out.key("unit_id", int: device.unitID)
            out.key("interval", duration: device.interval)
            if let profile = device.profile {
                out.key("profile", string: profile)
                out.comment("points of profile \(profile):")
                for p in device.points {
                    out.comment("  \(p.name): \(p.table.rawValue) \(p.address) \(p.type.rawValue)"
                                + (p.scale != 1 ? " x\(p.scale)" : "") + (p.unit.isEmpty ? "" : " \(p.unit)"))
                }
                continue
            }
            for p in device.points {
                out.arrayTable("device.point", indent: "  ")
                out.key("name", string: p.name)
                out.key("table", string: p.table.rawValue)
                out.key("address", int: p.address)
                out.key("type", string: p.type.rawValue)
                out.key("word_order", string: p.wordOrder.rawValue)
                out.key("byte_order", string: p.byteOrder.rawValue)
                out.key("scale", double: p.scale)
                out.key("offset", double: p.offset)
                out.key("unit", string: p.unit)
            }
        }

        for d in c.detectors {
            out.arrayTable("detector")
            out.key("type", string: d.type)
            out.key("device", string: d.device)
            if let point = d.point { out.key("point", string: point) }
            for (name, value) in d.parameters.sorted(by: { $0.key < $1.key }) {
                if isSecret(name) { out.key(name, string: mask); continue }
                switch value {
                case .string(let s): out.key(name, string: s)
                case .integer(let i): out.key(name, int: i)
                case .double(let v): out.key(name, double: v)
                case .bool(let b): out.key(name, bool: b)
                }
            }
        }
        return out.text
    }

    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("password") || k.contains("secret") || k.contains("token")
    }

    /// The shortest exact spelling `ConfigUnits.size` reads back: `1GB`, `512MB`, `64MiB`, `1234B`.
    static func sizeText(_ bytes: Int64) -> String {
        for (suffix, unit) in [("TB", Int64(1_000_000_000_000)), ("GB", 1_000_000_000), ("GiB", 1_073_741_824),
                               ("MB", 1_000_000), ("MiB", 1_048_576), ("kB", 1000), ("KiB", 1024)]
            where bytes >= unit && bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// `ConfigUnits.text` for whole milliseconds; finer durations in microseconds.
    static func durationText(_ d: Duration) -> String {
        let ns = d.nanoseconds
        if ns % 1_000_000 == 0 { return ConfigUnits.text(d) }
        return "\((Double(ns) / 1000).rounded(.toNearestOrEven).formatted)us"
    }
}

private extension Double {
    /// `12` for whole values, else Swift's shortest round-trip spelling.
    var formatted: String {
        if self == rounded() && abs(self) < 1e15 { return String(Int64(self)) }
        return "\(self)"
    }
}

/// Appends TOML lines with consistent spacing.
struct TOMLWriter {
    private(set) var text = ""
    private var indent = ""

    mutating func blank() { if !text.isEmpty && !text.hasSuffix("\n\n") { text += "\n" } }
    mutating func comment(_ s: String) { text += indent + "# " + s + "\n" }
    mutating func table(_ name: String) { blank(); indent = ""; text += "[\(name)]\n" }
    mutating func arrayTable(_ name: String, indent: String = "") {
        blank()
        self.indent = indent
        text += indent + "[[\(name)]]\n"
    }
    mutating func key(_ k: String, string v: String) { line(k, ConfigValue.quote(v)) }
    mutating func key(_ k: String, int v: Int) { line(k, String(v)) }
    mutating func key(_ k: String, bool v: Bool) { line(k, v ? "true" : "false") }
    mutating func key(_ k: String, duration v: Duration) { line(k, ConfigValue.quote(ConfigRenderer.durationText(v))) }
    mutating func key(_ k: String, double v: Double) {
        // TOML floats need a decimal point or exponent; Swift writes 1.0, 0.001, 1e-05, inf, nan.
        var s = "\(v)"
        if !s.contains(where: { $0 == "." || $0 == "e" || $0 == "n" }) { s += ".0" }
        line(k, s)
    }
    private mutating func line(_ k: String, _ v: String) {
        let bare = !k.isEmpty && k.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-"
        }
        text += indent + (bare ? k : ConfigValue.quote(k)) + " = " + v + "\n"
    }
}
