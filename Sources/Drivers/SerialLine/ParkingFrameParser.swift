/// What a parking detector reports about its bay.
enum ParkingBayState: Int, Sendable, CaseIterable {
    case free = 0
    case occupied = 1
    /// The detector reports its own fault (magnetometer, radio...).
    case fault = 2

    /// The word used in events: `free`, `occupied`, `fault`.
    var name: String {
        switch self {
        case .free: return "free"
        case .occupied: return "occupied"
        case .fault: return "fault"
        }
    }
}

/// One frame of the parking detector line protocol (see `/work/shared/interface.md`),
/// checksum already verified.
struct ParkingFrame: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// `$PKD`: the bay changed state, or repeats it.
        case state(ParkingBayState)
        /// `$PKH`: heartbeat with the radio level.
        case heartbeat(rssiDBm: Int)
    }

    var bay: String
    var kind: Kind
    var batteryMillivolts: Int
    /// 0–65535, +1 per frame the detector sends, wrapping.
    var counter: UInt16

    /// The frame as a detector sends it, `$...*HH\r\n` (tests and simulators).
    var encoded: String {
        let body: String
        switch kind {
        case .state(let state): body = "PKD,\(bay),\(state.rawValue),\(batteryMillivolts),\(counter)"
        case .heartbeat(let rssi): body = "PKH,\(bay),\(batteryMillivolts),\(rssi),\(counter)"
        }
        return "$" + body + "*" + ParkingFrame.checksumText(of: body) + "\r\n"
    }

    /// Two upper-case hex digits of the XOR of the body's bytes.
    static func checksumText(of body: String) -> String {
        let x = body.utf8.reduce(UInt8(0), ^)
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(x >> 4)], digits[Int(x & 0x0F)]], as: UTF8.self)
    }
}

/// An incremental parser for the parking line protocol: feed it bytes as they
/// arrive, in pieces of any size, and it calls back once per complete line.
///
/// - Resynchronises on `$`: a `$` always starts a new frame; a partial frame before it counts as malformed.
/// - A line ends at `\r` or `\n` (so `\r\n`, `\n` alone and `\r` alone all work).
/// - Bytes outside a frame (other than line ends) count as garbage.
/// - A line longer than `maxLineBytes` without a line end is dropped and counted as oversize.
///
/// It never traps on any input, and allocates nothing per byte (the line
/// buffer is reserved once; only a good frame's bay string is allocated).
struct ParkingFrameParser {
    /// Longer than any valid frame (about 60 bytes) with room to spare.
    static let maxLineBytes = 128

    struct Counters: Sendable, Equatable {
        var framesOK: UInt64 = 0
        var badChecksum: UInt64 = 0
        var malformed: UInt64 = 0
        var garbageBytes: UInt64 = 0
        var oversizeLines: UInt64 = 0
    }

    enum Rejection: Sendable, Equatable {
        case badChecksum
        case malformed
        case oversize
    }

    enum Outcome: Sendable, Equatable {
        case frame(ParkingFrame)
        /// A line that was not a good frame. `bay` is its bay field when that
        /// could be read, so the fault can be put on the right detector.
        case rejected(Rejection, bay: String?)
    }

    private enum Mode { case hunting, collecting, discarding }

    private(set) var counters = Counters()
    private var mode = Mode.hunting
    /// Bytes after `$` of the line being collected.
    private var line: [UInt8]

    init() {
        line = []
        line.reserveCapacity(Self.maxLineBytes)
    }

    /// Forgets a partly received line (the port was lost mid-frame); the counters stay.
    mutating func discardPartialLine() {
        line.removeAll(keepingCapacity: true)
        mode = .hunting
    }

    private static let dollar = UInt8(ascii: "$")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// Feeds bytes; calls `handle` for every line completed by them, in order.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (Outcome) -> Void) {
        for byte in bytes { consume(byte, handle) }
    }

    /// Feeds bytes from any collection (tests, simulators).
    mutating func feed<Bytes: Sequence>(_ bytes: Bytes, _ handle: (Outcome) -> Void) where Bytes.Element == UInt8 {
        for byte in bytes { consume(byte, handle) }
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8, _ handle: (Outcome) -> Void) {
        if byte == Self.dollar {
            if mode == .collecting {
                // A frame cut short by a new one: the detector or the line lost bytes.
                counters.malformed += 1
                handle(.rejected(.malformed, bay: Self.bayField(line[...])))
            }
            line.removeAll(keepingCapacity: true)
            mode = .collecting
            return
        }
        let isLineEnd = byte == Self.cr || byte == Self.lf
        switch mode {
        case .hunting:
            if !isLineEnd { counters.garbageBytes += 1 }
        case .discarding:
            if isLineEnd { mode = .hunting }
        case .collecting:
            if isLineEnd {
                mode = .hunting
                let outcome = Self.validate(line[...])
                switch outcome {
                case .frame: counters.framesOK += 1
                case .rejected(.badChecksum, _): counters.badChecksum += 1
                case .rejected(.malformed, _): counters.malformed += 1
                case .rejected(.oversize, _): counters.oversizeLines += 1
                }
                line.removeAll(keepingCapacity: true)
                handle(outcome)
            } else if line.count == Self.maxLineBytes {
                counters.oversizeLines += 1
                line.removeAll(keepingCapacity: true)
                mode = .discarding
                handle(.rejected(.oversize, bay: nil))
            } else {
                line.append(byte)
            }
        }
    }

    /// Checks one line (the bytes between `$` and the line end).
    static func validate(_ line: ArraySlice<UInt8>) -> Outcome {
        let n = line.count
        let start = line.startIndex
        guard n >= 3, line[start + n - 3] == UInt8(ascii: "*"),
              let high = hexValue(line[start + n - 2]), let low = hexValue(line[start + n - 1]) else {
            return .rejected(.malformed, bay: bayField(line))
        }
        let body = line[start ..< start + n - 3]
        var sum: UInt8 = 0
        for b in body { sum ^= b }
        guard sum == high << 4 | low else { return .rejected(.badChecksum, bay: bayField(body)) }
        guard let frame = parseBody(body) else { return .rejected(.malformed, bay: bayField(body)) }
        return .frame(frame)
    }

    /// `PKD,<bay>,<state>,<battery_mV>,<counter>` or `PKH,<bay>,<battery_mV>,<rssi_dBm>,<counter>`.
    private static func parseBody(_ body: ArraySlice<UInt8>) -> ParkingFrame? {
        var fields = FieldCursor(body)
        guard let type = fields.next(), let bayBytes = fields.next(), isBay(bayBytes),
              let third = fields.next(), let fourth = fields.next(), let fifth = fields.next(),
              fields.next() == nil,
              let counter = unsigned(fifth, maxDigits: 5), counter <= 65535 else { return nil }
        let bay = String(decoding: bayBytes, as: UTF8.self)
        if isType(type, "PKD") {
            guard third.count == 1, let raw = unsigned(third, maxDigits: 1), let state = ParkingBayState(rawValue: raw),
                  let battery = unsigned(fourth, maxDigits: 5) else { return nil }
            return ParkingFrame(bay: bay, kind: .state(state), batteryMillivolts: battery, counter: UInt16(counter))
        }
        if isType(type, "PKH") {
            guard let battery = unsigned(third, maxDigits: 5), let rssi = signed(fourth, maxDigits: 3) else { return nil }
            return ParkingFrame(bay: bay, kind: .heartbeat(rssiDBm: rssi), batteryMillivolts: battery, counter: UInt16(counter))
        }
        return nil
    }

    /// The bay field of a line if the line starts like a frame and the field is a valid bay id.
    static func bayField(_ line: ArraySlice<UInt8>) -> String? {
        var fields = FieldCursor(line)
        guard let type = fields.next(), isType(type, "PKD") || isType(type, "PKH"),
              let bay = fields.next(), isBay(bay) else { return nil }
        return String(decoding: bay, as: UTF8.self)
    }

    /// 1–32 of `A-Z a-z 0-9 _ -`.
    static func isBay(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard (1...32).contains(bytes.count) else { return false }
        for b in bytes {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }

    private static func isType(_ bytes: ArraySlice<UInt8>, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        var i = bytes.startIndex
        let p = name.utf8Start
        for k in 0..<name.utf8CodeUnitCount {
            if bytes[i] != p[k] { return false }
            i += 1
        }
        return true
    }

    private static func unsigned(_ bytes: ArraySlice<UInt8>, maxDigits: Int) -> Int? {
        guard !bytes.isEmpty, bytes.count <= maxDigits else { return nil }
        var value = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }

    private static func signed(_ bytes: ArraySlice<UInt8>, maxDigits: Int) -> Int? {
        if bytes.first == UInt8(ascii: "-") {
            return unsigned(bytes.dropFirst(), maxDigits: maxDigits).map { -$0 }
        }
        return unsigned(bytes, maxDigits: maxDigits)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// Splits a line on commas without allocating.
private struct FieldCursor {
    private let bytes: ArraySlice<UInt8>
    private var position: Int
    private var exhausted = false

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    mutating func next() -> ArraySlice<UInt8>? {
        if exhausted { return nil }
        var end = position
        while end < bytes.endIndex && bytes[end] != UInt8(ascii: ",") { end += 1 }
        let field = bytes[position..<end]
        if end == bytes.endIndex { exhausted = true } else { position = end + 1 }
        return field
    }
}
