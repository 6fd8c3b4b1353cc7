import GatewayModel

/// Where the uplink reads what the live path did not carry: the backlog after
/// an outage, resend ranges, gaps to announce. Called only on the uplink thread.
public protocol UplinkBacklog: AnyObject {
    /// Unsent records with `afterSeq < seq <= throughSeq`, oldest first.
    func pendingRecords(afterSeq: UInt64, throughSeq: UInt64, limit: Int) throws -> [StoredRecord]
    /// Any records with `from <= seq <= to`, oldest first (for `cmd/resend`).
    func records(from: UInt64, to: UInt64, limit: Int) throws -> [StoredRecord]
    func unannouncedGaps() throws -> [StoredGap]
    func lastSeq() throws -> UInt64
}

/// Where the uplink reports what the broker acknowledged. Must not block.
public protocol UplinkLedger: AnyObject, Sendable {
    func markDelivered(_ seqs: [UInt64])
    func markGapsAnnounced(_ ids: [Int64])
    /// A `cmd/resend` was accepted (for the audit log).
    func resendRequested(store: String, from: UInt64, to: UInt64)
}

extension UplinkLedger {
    public func resendRequested(store: String, from: UInt64, to: UInt64) {}
}

/// A snapshot for `gatewayctl status`, metrics and the watchdog.
public struct UplinkStatus: Sendable, Equatable, Codable {
    public var broker: String
    public var connected: Bool
    public var connectedSinceMilliseconds: Int64?
    public var disconnectedSinceMilliseconds: Int64?
    public var reconnects: UInt64
    public var messagesInFlight: Int
    public var messagesPublished: UInt64
    public var recordsAcknowledged: UInt64
    /// Publish-to-PUBACK time of the last acknowledged message.
    public var lastAckLatencyMilliseconds: Double?
    /// Whether a backlog drain is in progress.
    public var drainingBacklog: Bool
    public var lastError: String?
    public var lastProgressMonotonicNanoseconds: UInt64

    public init(broker: String) {
        self.broker = broker
        connected = false
        reconnects = 0
        messagesInFlight = 0
        messagesPublished = 0
        recordsAcknowledged = 0
        drainingBacklog = false
        lastProgressMonotonicNanoseconds = 0
    }
}
