/// A compact little-endian encoding for learning state (baselines,
/// profiles), so a restart resumes where the detector was. Each detector
/// writes a version byte first; a mismatch or truncation makes the restore
/// fall back to learning afresh rather than trusting garbage.
struct StateWriter {
    private(set) var bytes: [UInt8] = []

    mutating func put(_ value: UInt8) { bytes.append(value) }

    mutating func put(_ value: Int64) {
        var v = UInt64(bitPattern: value)
        for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
    }

    mutating func put(_ value: Int) { put(Int64(value)) }

    mutating func put(_ value: Double) { put(Int64(bitPattern: value.bitPattern)) }

    mutating func put(_ value: Bool) { put(UInt8(value ? 1 : 0)) }

    mutating func put(_ values: [Double]) {
        put(values.count)
        for v in values { put(v) }
    }

    mutating func put(_ text: String) {
        let utf8 = Array(text.utf8)
        put(utf8.count)
        bytes.append(contentsOf: utf8)
    }
}

struct StateDecodingFailed: Error {}

struct StateReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw StateDecodingFailed() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int64() throws -> Int64 {
        guard offset + 8 <= bytes.count else { throw StateDecodingFailed() }
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = (v << 8) | UInt64(bytes[offset + i]) }
        offset += 8
        return Int64(bitPattern: v)
    }

    mutating func int() throws -> Int {
        let v = try int64()
        guard v >= Int64(Int.min), v <= Int64(Int.max) else { throw StateDecodingFailed() }
        return Int(v)
    }

    mutating func double() throws -> Double { Double(bitPattern: UInt64(bitPattern: try int64())) }

    mutating func bool() throws -> Bool { try byte() != 0 }

    mutating func doubles() throws -> [Double] {
        let n = try int()
        guard n >= 0, offset + 8 * n <= bytes.count else { throw StateDecodingFailed() }
        var out: [Double] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try double()) }
        return out
    }

    mutating func string() throws -> String {
        let n = try int()
        guard n >= 0, offset + n <= bytes.count else { throw StateDecodingFailed() }
        defer { offset += n }
        return String(decoding: bytes[offset..<offset + n], as: UTF8.self)
    }
}
