import GatewayModel

/// What a reload changes, in words for the log and the audit row.
enum ReloadPlan {
    /// One entry per added, removed or changed bus, device and detector, and the uplink.
    static func changes(from old: GatewayConfiguration, to new: GatewayConfiguration) -> [String] {
        var out: [String] = []
        out += diff("bus", old.buses.map { ($0.name, $0) }, new.buses.map { ($0.name, $0) })
        out += diff("device", old.devices.map { ($0.id, $0) }, new.devices.map { ($0.id, $0) })
        if old.detectors != new.detectors {
            out.append("detectors \(old.detectors.count) → \(new.detectors.count)")
        }
        if old.uplink != new.uplink {
            switch (old.uplink, new.uplink) {
            case (nil, .some): out.append("uplink added")
            case (.some, nil): out.append("uplink removed")
            default: out.append("uplink changed")
            }
        }
        if old.gateway.id != new.gateway.id { out.append("gateway id \(old.gateway.id) → \(new.gateway.id)") }
        return out.isEmpty ? ["no change"] : out
    }

    /// Settings a reload cannot apply without closing the buffer or the control socket.
    static func restartOnly(from old: GatewayConfiguration, to new: GatewayConfiguration) -> [String] {
        var out: [String] = []
        if old.gateway.dataDirectory != new.gateway.dataDirectory { out.append("gateway.data_dir") }
        if old.buffer != new.buffer { out.append("[buffer]") }
        if old.control != new.control { out.append("[control]") }
        return out
    }

    private static func diff<T: Equatable>(_ what: String, _ old: [(String, T)], _ new: [(String, T)]) -> [String] {
        var out: [String] = []
        let oldByName = Dictionary(old, uniquingKeysWith: { a, _ in a })
        let newByName = Dictionary(new, uniquingKeysWith: { a, _ in a })
        for (name, _) in new where oldByName[name] == nil { out.append("\(what) \(name) added") }
        for (name, _) in old where newByName[name] == nil { out.append("\(what) \(name) removed") }
        for (name, value) in new { if let before = oldByName[name], before != value { out.append("\(what) \(name) changed") } }
        return out
    }
}
