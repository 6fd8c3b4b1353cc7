import GatewayModel

/// A plain MQTT subscriber (and occasional publisher) for tools: `gatewayctl
/// verify` listens to a gateway's topics and can ask it to resend.
/// Messages are queued in order; `next` blocks the calling thread.
public final class BrokerSubscription: @unchecked Sendable {
    // Invariant: `queue` carries everything from libmosquitto's thread; `state` is guarded by `lock`.
    public struct Message: Sendable {
        public var topic: String
        public var payload: [UInt8]
    }

    private let queue = BoundedQueue<Message>(capacity: 1_000_000)
    private let lock = ConditionLock()
    private var connected = false
    private var failure: String?
    private var session: MosquittoSession?
    private let filters: [String]

    public init(broker: BrokerAddress, clientID: String, filters: [String], username: String? = nil,
                passwordFile: String? = nil, caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) throws {
        self.filters = filters
        let s = try MosquittoSession(clientID: clientID) { [weak self] signal in self?.receive(signal) }
        if let username {
            try s.setCredentials(username: username, password: try passwordFile.map(Uplink.readPassword))
        }
        if broker.tls { try s.setTLS(caFile: caFile, certFile: certFile, keyFile: keyFile) }
        session = s
        _ = try s.start(host: broker.host, port: broker.port, keepAliveSeconds: 30)
    }

    deinit { close() }

    private func receive(_ signal: SessionSignal) {
        switch signal {
        case .connected(let code, let reason):
            if code == 0 {
                for f in filters { session?.subscribe(f) }
                lock.withLock { connected = true; lock.broadcast() }
            } else {
                lock.withLock { failure = "the broker refused the connection: \(reason)"; lock.broadcast() }
            }
        case .message(let topic, let payload):
            _ = queue.offer(Message(topic: topic, payload: payload))
        case .log(let level, let text):
            if level & 0x08 != 0 { lock.withLock { failure = Uplink.explain(text); lock.broadcast() } }
        case .disconnected, .acknowledged:
            break
        }
    }

    /// Waits until connected and subscribed; throws the broker's reason on failure or timeout.
    public func waitConnected(timeout: Duration) throws {
        let deadline = SystemClock.monotonicNow() + UInt64(timeout.nanoseconds)
        try lock.withLock {
            while !connected {
                if let failure { throw UplinkError.setup(failure) }
                if !lock.wait(untilMonotonicNanoseconds: deadline) && !connected {
                    throw UplinkError.setup(failure ?? "no connection to the broker within \(ConfigUnits.text(timeout))")
                }
            }
        }
    }

    /// The next message, or nil when `timeout` passes first.
    public func next(timeout: Duration) -> Message? {
        queue.take(max: 1, untilMonotonicNanoseconds: SystemClock.monotonicNow() + UInt64(timeout.nanoseconds)).first
    }

    /// Publishes at QoS 1 (e.g. a `cmd/resend`).
    @discardableResult
    public func publish(topic: String, text: String) -> Bool {
        session?.publish(topic: topic, text: text) != nil
    }

    public func close() {
        session?.disconnect()
        session?.stopLoop()
        session = nil
    }
}
