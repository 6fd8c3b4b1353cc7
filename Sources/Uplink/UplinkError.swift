/// Why the uplink could not be set up, in words a technician can act on.
public enum UplinkError: Error, CustomStringConvertible, Equatable {
    case setup(String)
    case passwordFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .setup(let s): return s
        case .passwordFile(let path, let reason):
            return "cannot read the MQTT password from \(path): \(reason) — check uplink.password_file"
        }
    }
}
