/// What a subscriber can prove about a gateway's stream: per `store`, which
/// `seq` arrived, which arrived more than once, which were announced as gaps,
/// and which are missing (neither arrived nor announced). Used by
/// `gatewayctl verify` and the tests.
public struct StreamAudit: Sendable {
    public struct StoreReport: Sendable, Equatable, Codable {
        public var store: String
        public var firstSeq: UInt64
        public var lastSeq: UInt64
        public var received: UInt64
        public var duplicates: UInt64
        /// Announced on `gaps`: ranges with their reason.
        public var announced: [AnnouncedRange]
        /// Neither received nor announced, between `firstSeq` and `lastSeq`.
        public var missing: [ClosedRange<UInt64>]

        public var missingCount: UInt64 { missing.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) } }
    }

    public struct AnnouncedRange: Sendable, Equatable, Codable {
        public var from: UInt64
        public var to: UInt64
        public var reason: String
    }

    private var seen: [String: Set<UInt64>] = [:]
    private var duplicates: [String: UInt64] = [:]
    private var gaps: [String: [AnnouncedRange]] = [:]
    /// The first seq expected per store (default 1): a verifier that joins late may start higher.
    public var expectedFirstSeq: UInt64 = 1

    public init(expectedFirstSeq: UInt64 = 1) { self.expectedFirstSeq = expectedFirstSeq }

    public mutating func received(store: String, seq: UInt64) {
        if !seen[store, default: []].insert(seq).inserted { duplicates[store, default: 0] += 1 }
    }

    public mutating func announced(store: String, from: UInt64, to: UInt64, reason: String) {
        gaps[store, default: []].append(AnnouncedRange(from: from, to: to, reason: reason))
    }

    public var stores: [String] { Array(Set(seen.keys).union(gaps.keys)).sorted() }

    public func report(store: String) -> StoreReport {
        let got = seen[store] ?? []
        let announced = gaps[store] ?? []
        let last = max(got.max() ?? 0, announced.map(\.to).max() ?? 0)
        var missing: [ClosedRange<UInt64>] = []
        var runStart: UInt64?
        var s = expectedFirstSeq
        while s <= last {
            let covered = got.contains(s) || announced.contains { $0.from <= s && s <= $0.to }
            if !covered {
                if runStart == nil { runStart = s }
            } else if let r = runStart {
                missing.append(r...(s - 1))
                runStart = nil
            }
            s += 1
        }
        if let r = runStart { missing.append(r...last) }
        return StoreReport(store: store, firstSeq: got.min() ?? 0, lastSeq: last, received: UInt64(got.count),
                           duplicates: duplicates[store] ?? 0, announced: announced, missing: missing)
    }

    /// Every `seq` announced as a gap (expanded), for exact comparisons in tests.
    public func announcedSeqs(store: String) -> Set<UInt64> {
        var out = Set<UInt64>()
        for g in gaps[store] ?? [] where g.to >= g.from { out.formUnion(g.from...g.to) }
        return out
    }

    public func receivedSeqs(store: String) -> Set<UInt64> { seen[store] ?? [] }
}
