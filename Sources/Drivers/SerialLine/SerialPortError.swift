#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a serial port could not be opened, configured or read, in words a
/// field technician can act on.
public enum SerialPortError: Error, Equatable, Sendable, CustomStringConvertible {
    /// EACCES/EPERM on open: the service user may not use the port.
    case permissionDenied(path: String)
    /// ENOENT/ENODEV/ENXIO on open: nothing is plugged in at that path.
    case noSuchDevice(path: String)
    /// EBUSY on open or TIOCEXCL: another program holds the port.
    case busy(path: String)
    /// The path exists but is not a terminal (tcgetattr says ENOTTY).
    case notASerialPort(path: String)
    /// A line setting the port (or this gateway) cannot do, e.g. baud 14400.
    case unsupportedSetting(path: String, setting: String, value: String, supported: String)
    /// The port went away while open: the adapter was unplugged, the cable
    /// pulled, or the device node replaced. The owner reopens it.
    case vanished(path: String, reason: String)
    /// Any other system call failure, with what we were doing and errno.
    case systemCall(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .permissionDenied(let path):
            return "cannot open \(path): permission denied — add the gatewayd user to the dialout group "
                + "(and allow the device with DeviceAllow= in the systemd unit)"
        case .noSuchDevice(let path):
            return "cannot open \(path): no such device — is the USB adapter plugged in? "
                + "prefer /dev/serial/by-id/... paths, they survive re-plugging"
        case .busy(let path):
            return "cannot open \(path): the port is in use by another program "
                + "(is gatewayd already running, or a terminal program such as minicom open on it?)"
        case .notASerialPort(let path):
            return "cannot use \(path): it is not a serial port (check the bus's device = setting)"
        case .unsupportedSetting(let path, let setting, let value, let supported):
            return "cannot configure \(path): \(setting) \(value) is not supported; use one of \(supported)"
        case .vanished(let path, let reason):
            return "serial port \(path) went away (\(reason)) — check the USB adapter and its cable; reopening"
        case .systemCall(let path, let operation, let code):
            return "serial port \(path): \(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }

    /// Maps the errno of a failed `open()` to the case a technician can act on.
    static func opening(_ path: String, errno code: Int32) -> SerialPortError {
        switch code {
        case EACCES, EPERM: return .permissionDenied(path: path)
        case ENOENT, ENODEV, ENXIO: return .noSuchDevice(path: path)
        case EBUSY: return .busy(path: path)
        case ENOTTY, EISDIR: return .notASerialPort(path: path)
        default: return .systemCall(path: path, operation: "open", errno: code)
        }
    }
}
