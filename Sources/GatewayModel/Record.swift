/// What kind of thing a stored record is. Readings, events and alarms share
/// one `seq` space so a subscriber can prove completeness across all of them.
public enum RecordKind: UInt8, Sendable {
    case reading = 0
    case event = 1
    case alarm = 2
}

/// Something the store has committed and numbered. `seq` rises by exactly one
/// per record across the whole gateway and is never reused within a `store`.
public struct StoredRecord: Sendable, Equatable {
    public var seq: UInt64
    public var kind: RecordKind
    public var pointID: PointID
    public var timestampMilliseconds: Int64
    public var value: Double?
    public var quality: Quality
    /// Events and alarms carry their own fields (already JSON-escaped
    /// `"key":value` pairs, without braces). `nil` for readings.
    public var detail: String?

    public init(seq: UInt64, kind: RecordKind, pointID: PointID, timestampMilliseconds: Int64,
                value: Double?, quality: Quality, detail: String? = nil) {
        self.seq = seq
        self.kind = kind
        self.pointID = pointID
        self.timestampMilliseconds = timestampMilliseconds
        self.value = value
        self.quality = quality
        self.detail = detail
    }
}

/// A range of `seq` that will never be sent, and why.
public struct SequenceGap: Sendable, Equatable {
    public enum Reason: String, Sendable {
        /// Retention (`buffer.max_size` / `buffer.max_age`) removed them before they were sent.
        case retention
        /// The disk was full and the bounded memory queue overflowed.
        case diskFull = "disk_full"
        /// A `cmd/resend` asked for records this store no longer holds.
        case notHeld = "not_held"
        /// Records were purged by an operator before they were sent.
        case purged
        /// The buffer could not be written (locked, I/O error) and the bounded memory queue overflowed.
        case writeFailed = "write_failed"
    }
    public var store: String
    public var from: UInt64
    public var to: UInt64
    public var count: UInt64
    public var reason: Reason

    public init(store: String, from: UInt64, to: UInt64, count: UInt64, reason: Reason) {
        self.store = store
        self.from = from
        self.to = to
        self.count = count
        self.reason = reason
    }
}

/// A gap as the store keeps it: the range plus its row id, so the uplink can
/// mark it announced once the broker acknowledged the `gaps` message.
public struct StoredGap: Sendable, Equatable {
    public var id: Int64
    public var gap: SequenceGap
    public init(id: Int64, gap: SequenceGap) { self.id = id; self.gap = gap }
}
