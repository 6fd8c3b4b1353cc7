import Drivers
import GatewayModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the daemon provides to answer control requests.
public protocol ControlResponder: AnyObject, Sendable {
    /// A status snapshot. Called on the control thread; may block briefly (a buffer count).
    func status() throws -> DaemonStatus
    /// One raw read on the named bus through its owner thread (never a second master on the line).
    func read(bus: String, request: RegisterRequest) async throws -> RegisterResponse
}

/// The daemon's side of the control socket: a Unix socket (mode 0660) whose
/// accept loop runs on its own thread, one connection at a time, so nothing
/// here ever occupies the cooperative pool. A `read` is bridged to the async
/// `FieldBus.execute` with a Task whose result the control thread waits for.
public final class ControlServer: @unchecked Sendable {
    // Invariant: `listenFD` and `thread` are set in start() and cleared in stop(), both by the owner;
    // `stopping` is guarded by `lock` and read by the control thread.
    public let path: String
    private let responder: ControlResponder
    private let log: @Sendable (String) -> Void
    private let lock = ConditionLock()
    private var stopping = false
    private var listenFD: Int32 = -1
    private var thread: OwnerThread?
    /// How long a `read` may wait for its bus (queueing behind polls plus the bus timeout); below the client's 30 s.
    public var readTimeoutSeconds: Double = 20

    /// - Parameter log: receives one line per problem worth a maintainer's attention.
    public init(path: String, responder: ControlResponder, log: @escaping @Sendable (String) -> Void) {
        self.path = path
        self.responder = responder
        self.log = log
    }

    /// Creates the socket (removing a stale one), sets mode 0660 and starts the accept thread. Blocks briefly.
    /// - Throws: `ControlChannelError.alreadyServed` when another daemon answers there,
    ///   `.cannotListen` (directory missing, permissions), `.pathTooLong`.
    public func start() throws {
        guard let addr = UnixSocket.address(path) else { throw ControlChannelError.pathTooLong(path: path) }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw ControlChannelError.cannotListen(path: path, reason: "a file that is not a socket is in the way; move it")
            }
            if ControlClient(path: path).isDaemonListening() { throw ControlChannelError.alreadyServed(path: path) }
            // A socket nobody listens on is left over from a daemon that died: remove it.
            unlink(path)
        }
        let fd = UnixSocket.newSocket()
        guard fd >= 0 else { throw ControlChannelError.cannotListen(path: path, reason: UnixSocket.errorText(errno)) }
        var a = addr
        let bound = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if bound != 0 {
            let e = errno
            close(fd)
            throw ControlChannelError.cannotListen(path: path, reason: UnixSocket.errorText(e))
        }
        // 0660: the gatewayd user and its group (maintainers) may talk to the daemon, nobody else.
        chmod(path, 0o660)
        guard listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw ControlChannelError.cannotListen(path: path, reason: UnixSocket.errorText(e))
        }
        listenFD = fd
        let t = OwnerThread(name: "control") { [self] in acceptLoop(fd) }
        thread = t
        t.start()
    }

    /// Stops accepting, waits for the connection in progress, closes and unlinks the socket. Blocks.
    public func stop() {
        guard let t = thread else { return }
        lock.withLock { stopping = true }
        t.join()
        thread = nil
        close(listenFD)
        listenFD = -1
        unlink(path)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func acceptLoop(_ fd: Int32) {
        while !isStopping {
            // poll with a short timeout so stop() is noticed without signals or extra pipes.
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 200)
            if ready <= 0 { continue }
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            UnixSocket.setTimeouts(client, seconds: 5)
            serve(client)
            close(client)
        }
    }

    private func serve(_ fd: Int32) {
        let response: ControlResponse
        switch UnixSocket.readLine(fd, limit: 1 << 20) {
        case .line(let line):
            do {
                response = answer(try ControlMessageLine.decode(ControlRequest.self, from: line))
            } catch {
                response = ControlResponse(error: "malformed request (expected one line of JSON): \(error)")
            }
        case .closed, .failed, .tooLong:
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try ControlMessageLine.encode(response)
        } catch {
            log("control socket: could not write an answer: \(error)")
            return
        }
        if let e = UnixSocket.writeAll(fd, bytes) {
            log("control socket: could not send an answer: \(UnixSocket.errorText(e))")
        }
    }

    private func answer(_ request: ControlRequest) -> ControlResponse {
        switch request.verb {
        case .status:
            do { return ControlResponse(status: try responder.status()) } catch {
                return ControlResponse(error: "\(error)")
            }
        case .read:
            guard let bus = request.bus, let r = request.registerRequest else {
                return ControlResponse(error: "read needs bus, unitID, table (holding|input|coil|discrete), address and count")
            }
            let started = SystemClock.monotonicNow()
            let outcome = AsyncOutcome<RegisterResponse>()
            let responder = self.responder
            Task { await outcome.settle { try await responder.read(bus: bus, request: r) } }
            guard let result = outcome.wait(seconds: readTimeoutSeconds) else {
                return ControlResponse(error: "bus \(bus) did not answer within \(Int(readTimeoutSeconds)) s")
            }
            let latency = Double(SystemClock.monotonicNow() - started) / 1e6
            switch result {
            case .success(.registers(let regs)): return ControlResponse(registers: regs, latencyMilliseconds: latency)
            case .success(.bits(let bits)): return ControlResponse(bits: bits, latencyMilliseconds: latency)
            case .failure(let error):
                var exception: Int?
                if case ModbusError.exception(_, _, let code, _)? = error as? ModbusError { exception = code }
                return ControlResponse(error: "\(error)", latencyMilliseconds: latency, modbusException: exception)
            }
        }
    }
}

/// The result of async work, waited for by a plain thread (the control thread).
final class AsyncOutcome<T: Sendable>: @unchecked Sendable {
    // Invariant: `result` is guarded by `lock`, written once.
    private let lock = ConditionLock()
    private var result: Result<T, Error>?

    func settle(_ body: @Sendable () async throws -> T) async {
        let r: Result<T, Error>
        do { r = .success(try await body()) } catch { r = .failure(error) }
        lock.withLock { result = r; lock.broadcast() }
    }

    /// Blocks the calling (non-pool) thread until settled, or nil after `seconds`.
    func wait(seconds: Double) -> Result<T, Error>? {
        let deadline = SystemClock.monotonicNow() + UInt64(seconds * 1e9)
        return lock.withLock {
            while result == nil {
                if !lock.wait(untilMonotonicNanoseconds: deadline) && result == nil { return nil }
            }
            return result
        }
    }
}
