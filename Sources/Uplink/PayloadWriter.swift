import GatewayModel

/// Writes the gateway's fixed JSON payload shapes straight into bytes: no
/// encoder, no dictionaries, one buffer reused per message.
struct PayloadWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ s: String) {
        bytes.append(contentsOf: s.utf8)
    }

    mutating func string(_ s: String) {
        JSONText.appendQuoted(s, to: &bytes)
    }

    mutating func integer<I: BinaryInteger>(_ i: I) {
        if i == 0 { bytes.append(UInt8(ascii: "0")); return }
        var v = Int64(i)
        if v < 0 { bytes.append(UInt8(ascii: "-")); v = -v }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; n += 1 }
            for k in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[k]) }
        }
    }

    mutating func unsigned(_ u: UInt64) {
        if u <= UInt64(Int64.max) { integer(Int64(u)) } else { raw(String(u)) }
    }

    mutating func number(_ d: Double?) {
        guard let d, d.isFinite else { raw("null"); return }
        if d == d.rounded(), abs(d) < 1e15 { integer(Int64(d)); return }
        raw(d.description)
    }

    mutating func bool(_ b: Bool) { b ? raw("true") : raw("false") }
}

/// The payload shapes of interface.md.
enum Payloads {
    /// `data/{device}`: a batch of one device's readings.
    static func dataBatch(into w: inout PayloadWriter, gateway: String, device: PointDescriptor?, deviceName: String,
                          store: String, historical: Bool, records: ArraySlice<StoredRecord>, catalog: PointCatalog) {
        w.raw("{\"gateway\":"); w.string(gateway)
        w.raw(",\"device\":"); w.string(deviceName)
        w.raw(",\"kind\":"); w.string(device?.deviceKind.rawValue ?? "generic")
        w.raw(",\"store\":"); w.string(store)
        w.raw(",\"historical\":"); w.bool(historical)
        w.raw(",\"readings\":[")
        var first = true
        for r in records {
            if !first { w.raw(",") }
            first = false
            let d = catalog[r.pointID]
            w.raw("{\"seq\":"); w.unsigned(r.seq)
            w.raw(",\"ts\":"); w.integer(r.timestampMilliseconds)
            w.raw(",\"point\":"); w.string(d?.point ?? "#\(r.pointID)")
            w.raw(",\"value\":"); w.number(r.value)
            w.raw(",\"unit\":"); w.string(d?.unit ?? "")
            w.raw(",\"quality\":"); w.string(r.quality.name)
            w.raw("}")
        }
        w.raw("]}")
    }

    /// `events/{device}` and `alarms/{device}`: one record with its own fields spliced in.
    static func single(into w: inout PayloadWriter, gateway: String, deviceName: String, store: String,
                       historical: Bool, record r: StoredRecord) {
        w.raw("{\"gateway\":"); w.string(gateway)
        w.raw(",\"device\":"); w.string(deviceName)
        w.raw(",\"store\":"); w.string(store)
        w.raw(",\"seq\":"); w.unsigned(r.seq)
        w.raw(",\"ts\":"); w.integer(r.timestampMilliseconds)
        w.raw(",\"historical\":"); w.bool(historical)
        w.raw(",\"value\":"); w.number(r.value)
        w.raw(",\"quality\":"); w.string(r.quality.name)
        if let detail = r.detail, !detail.isEmpty { w.raw(","); w.raw(detail) }
        w.raw("}")
    }

    /// `gaps`: ranges of seq that will never be sent.
    static func gaps(into w: inout PayloadWriter, gateway: String, store: String, ts: Int64, gaps: [SequenceGap]) {
        w.raw("{\"gateway\":"); w.string(gateway)
        w.raw(",\"store\":"); w.string(store)
        w.raw(",\"ts\":"); w.integer(ts)
        w.raw(",\"ranges\":[")
        for (i, g) in gaps.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"from\":"); w.unsigned(g.from)
            w.raw(",\"to\":"); w.unsigned(g.to)
            w.raw(",\"count\":"); w.unsigned(g.count)
            w.raw(",\"reason\":"); w.string(g.reason.rawValue)
            w.raw("}")
        }
        w.raw("]}")
    }

    static func status(state: String, ts: Int64, version: String, store: String, gateway: String, previousStore: String? = nil) -> String {
        var w = PayloadWriter(capacity: 160)
        w.raw("{\"state\":"); w.string(state)
        w.raw(",\"ts\":"); w.integer(ts)
        w.raw(",\"version\":"); w.string(version)
        w.raw(",\"store\":"); w.string(store)
        w.raw(",\"gateway\":"); w.string(gateway)
        if let previousStore {
            // This store replaced a damaged one: what the old one did not send is lost.
            w.raw(",\"previous_store\":"); w.string(previousStore)
            w.raw(",\"store_replaced\":\"damaged\"")
        }
        w.raw("}")
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
