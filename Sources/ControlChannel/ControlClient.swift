import GatewayModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// gatewayctl's side of the control socket. Blocking: one request per call,
/// one connection per request. Use it from the CLI's main thread.
public struct ControlClient: Sendable {
    public let path: String
    /// How long to wait for an answer; a `read` may wait behind the bus's polling.
    public var timeoutSeconds: Double

    public init(path: String, timeoutSeconds: Double = 30) {
        self.path = path
        self.timeoutSeconds = timeoutSeconds
    }

    /// Whether a daemon answers connections on the socket now (cheap: connect and close).
    public func isDaemonListening() -> Bool {
        guard let addr = UnixSocket.address(path) else { return false }
        let fd = UnixSocket.newSocket()
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return UnixSocket.connect(fd, addr) == 0
    }

    /// Sends `request` and waits for the answer. Blocks the caller.
    /// - Throws: `ControlChannelError.notRunning` (no socket or nobody listening),
    ///   `.permissionDenied`, `.timeout`, `.badMessage`, `.io`.
    public func send(_ request: ControlRequest) throws -> ControlResponse {
        guard let addr = UnixSocket.address(path) else { throw ControlChannelError.pathTooLong(path: path) }
        let fd = UnixSocket.newSocket()
        guard fd >= 0 else { throw ControlChannelError.io(path: path, reason: UnixSocket.errorText(errno)) }
        defer { close(fd) }
        switch UnixSocket.connect(fd, addr) {
        case 0: break
        case ENOENT, ECONNREFUSED, ENOTDIR: throw ControlChannelError.notRunning(path: path)
        case EACCES, EPERM: throw ControlChannelError.permissionDenied(path: path)
        case let e: throw ControlChannelError.io(path: path, reason: UnixSocket.errorText(e))
        }
        UnixSocket.setTimeouts(fd, seconds: timeoutSeconds)
        let bytes = try ControlMessageLine.encode(request)
        if let e = UnixSocket.writeAll(fd, bytes) {
            throw ControlChannelError.io(path: path, reason: "sending the request: \(UnixSocket.errorText(e))")
        }
        switch UnixSocket.readLine(fd, limit: 16 << 20) {
        case .line(let line):
            do {
                return try ControlMessageLine.decode(ControlResponse.self, from: line)
            } catch {
                throw ControlChannelError.badMessage("\(error)")
            }
        case .closed:
            throw ControlChannelError.badMessage("gatewayd closed the connection without answering")
        case .failed(let e) where e == EAGAIN || e == EWOULDBLOCK:
            throw ControlChannelError.timeout(path: path, seconds: timeoutSeconds)
        case .failed(let e):
            throw ControlChannelError.io(path: path, reason: UnixSocket.errorText(e))
        case .tooLong:
            throw ControlChannelError.badMessage("answer longer than 16 MB")
        }
    }
}
