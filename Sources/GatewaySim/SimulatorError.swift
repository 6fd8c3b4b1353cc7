#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can stop the simulator from starting, worded for the
/// person who typed the command line.
enum SimulatorError: Error, CustomStringConvertible {
    case badEndpoint(String)
    case badUnitSpec(String, reason: String)
    case badDuration(option: String, text: String)
    case badStartTime(String)
    case badBayList(String)
    case nothingToServe
    case listenFailed(endpoint: String, reason: String)
    case pseudoTerminalFailed(link: String, reason: String)
    case linkFailed(link: String, target: String, reason: String)

    var description: String {
        switch self {
        case .badEndpoint(let text):
            return "'\(text)' is not HOST:PORT (example: 127.0.0.1:15020; port 0 picks a free port)"
        case .badUnitSpec(let text, let reason):
            return "unit list '\(text)': \(reason) (example: 1=electricity,2=water,3=pressure,9=pattern)"
        case .badDuration(let option, let text):
            return "\(option) '\(text)' is not a duration (examples: 500ms, 90s, 5m, 2h)"
        case .badStartTime(let text):
            return "--start-time '\(text)' is neither ISO 8601 UTC (2025-06-01T00:00:00Z) nor epoch milliseconds"
        case .badBayList(let text):
            return "bay list '\(text)': each bay id is 1-32 characters of A-Z a-z 0-9 _ - (example: A-001,A-002)"
        case .nothingToServe:
            return "nothing to serve: give --tcp HOST:PORT and/or --rtu-pty LINK"
        case .listenFailed(let endpoint, let reason):
            return "cannot listen on \(endpoint): \(reason)"
        case .pseudoTerminalFailed(let link, let reason):
            return "cannot create a pseudo-terminal for \(link): \(reason)"
        case .linkFailed(let link, let target, let reason):
            return "cannot create the link \(link) -> \(target): \(reason)"
        }
    }
}

/// The text of the current `errno`, captured at once by the caller.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
