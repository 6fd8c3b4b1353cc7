import CSQLite
import GatewayModel

/// Queries shared by the writer and the readers.
enum BufferQueries {
    static func catalog(_ c: SQLiteConnection) throws -> PointCatalog {
        let s = try c.prepare("SELECT id, device, device_kind, point, unit FROM points ORDER BY id")
        var out: [PointDescriptor] = []
        while try s.step() {
            out.append(PointDescriptor(id: PointID(s.int64(0)), device: s.text(1) ?? "",
                                       deviceKind: DeviceKind(rawValue: s.text(2) ?? "") ?? .generic,
                                       point: s.text(3) ?? "", unit: s.text(4) ?? ""))
        }
        return PointCatalog(out)
    }

    static func unannouncedGaps(_ c: SQLiteConnection, store: String) throws -> [StoredGap] {
        let s = try c.prepare("SELECT id, first_seq, last_seq, count, reason FROM gaps WHERE announced = 0 ORDER BY id")
        var out: [StoredGap] = []
        while try s.step() {
            out.append(StoredGap(id: s.int64(0), gap: SequenceGap(
                store: store, from: UInt64(s.int64(1)), to: UInt64(s.int64(2)), count: UInt64(s.int64(3)),
                reason: SequenceGap.Reason(rawValue: s.text(4) ?? "") ?? .retention)))
        }
        return out
    }

    static func record(from s: SQLiteStatement) -> StoredRecord {
        StoredRecord(seq: UInt64(s.int64(0)), kind: RecordKind(rawValue: UInt8(truncatingIfNeeded: s.int64(1))) ?? .reading,
                     pointID: PointID(truncatingIfNeeded: s.int64(2)), timestampMilliseconds: s.int64(3), value: s.double(4),
                     quality: Quality(rawValue: UInt8(truncatingIfNeeded: s.int64(5))) ?? .good,
                     detail: s.isNull(6) ? nil : s.text(6))
    }

    static let recordColumns = "seq, kind, point_id, ts, value, quality, detail"
}
