import ControlChannel
import Drivers
import GatewayConfig
import GatewayModel

/// Decides whether a request must go through the running daemon: when
/// gatewayd runs and owns the line, its bus thread is the only master there.
enum DaemonRoute {
    /// A client for the daemon serving `configuration`, or nil when no daemon listens.
    static func client(for configuration: GatewayConfiguration) -> ControlClient? {
        let client = ControlClient(path: ControlSocketPath.path(for: configuration))
        return client.isDaemonListening() ? client : nil
    }

    /// The configured bus that drives the same line as `target` (same device path, or same host and port).
    static func owningBus(of target: BusConfiguration, in configuration: GatewayConfiguration) -> BusConfiguration? {
        configuration.buses.first { bus in
            switch (bus.type, target.type) {
            case (.modbusTCP, .modbusTCP):
                return bus.port == target.port && sameHost(bus.host, target.host)
            case (.modbusRTU, .modbusRTU), (.serialLine, .modbusRTU):
                return samePath(bus.device, target.device)
            default:
                return false
            }
        }
    }

    private static func sameHost(_ a: String, _ b: String) -> Bool {
        let loopback: Set<String> = ["127.0.0.1", "localhost", "::1"]
        return a == b || (loopback.contains(a) && loopback.contains(b))
    }

    private static func samePath(_ a: String, _ b: String) -> Bool {
        a == b || realPath(a) == realPath(b)
    }

    private static func realPath(_ p: String) -> String {
        guard let r = realpath(p, nil) else { return p }
        defer { free(r) }
        return String(cString: r)
    }

    /// One raw read through the daemon.
    /// - Throws: `CtlFailure` with the daemon's error text.
    static func read(_ client: ControlClient, bus: String, _ request: RegisterRequest) throws -> (RegisterResponse, Double) {
        let answer: ControlResponse
        do {
            answer = try client.send(.read(bus: bus, request))
        } catch let e as ControlChannelError {
            throw CtlFailure(e.description)
        }
        if let error = answer.error {
            throw DaemonReadError(message: error, modbusException: answer.modbusException)
        }
        let latency = answer.latencyMilliseconds ?? 0
        if let r = answer.registers { return (.registers(r), latency) }
        if let b = answer.bits { return (.bits(b), latency) }
        throw CtlFailure("gatewayd answered a read with neither registers nor bits")
    }
}

/// A read the daemon performed and that failed on the bus (no answer, exception…).
struct DaemonReadError: Error, CustomStringConvertible {
    var message: String
    var modbusException: Int?
    var description: String { message }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
