import XCTest
@testable import Drivers

/// A small seeded generator so fuzz runs are reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ParkingFrameParser {
    /// Feeds a string and returns what came out.
    mutating func outcomes(_ text: String) -> [Outcome] {
        var out: [Outcome] = []
        feed(Array(text.utf8)) { out.append($0) }
        return out
    }
}

func stateFrame(_ bay: String, _ state: ParkingBayState, battery: Int = 3600, counter: UInt16) -> ParkingFrame {
    ParkingFrame(bay: bay, kind: .state(state), batteryMillivolts: battery, counter: counter)
}

func heartbeatFrame(_ bay: String, battery: Int = 3600, rssi: Int = -80, counter: UInt16) -> ParkingFrame {
    ParkingFrame(bay: bay, kind: .heartbeat(rssiDBm: rssi), batteryMillivolts: battery, counter: counter)
}

/// `frame` with its checksum deliberately wrong.
func withBadChecksum(_ frame: ParkingFrame) -> String {
    let good = frame.encoded
    let star = good.lastIndex(of: "*")!
    let body = String(good[good.index(after: good.startIndex)..<star])
    let wrong = body.utf8.reduce(UInt8(0), ^) ^ 0x5A
    let hex = String(wrong, radix: 16, uppercase: true)
    return "$" + body + "*" + (hex.count == 1 ? "0" + hex : hex) + "\r\n"
}

final class ParkingFrameParserTests: XCTestCase {
    func testParsesTheTwoFrameTypesOfTheInterface() {
        var parser = ParkingFrameParser()
        // Checksums as a concentrator computes them: XOR of the bytes between $ and *.
        let body = "PKD,A-017,1,3600,42"
        let line = "$\(body)*\(ParkingFrame.checksumText(of: body))\r\n"
        XCTAssertEqual(parser.outcomes(line), [.frame(stateFrame("A-017", .occupied, counter: 42))])
        XCTAssertEqual(parser.outcomes(heartbeatFrame("bay_9", battery: 3012, rssi: -97, counter: 65535).encoded),
                       [.frame(heartbeatFrame("bay_9", battery: 3012, rssi: -97, counter: 65535))])
        XCTAssertEqual(parser.outcomes(stateFrame("Z", .fault, counter: 0).encoded),
                       [.frame(stateFrame("Z", .fault, counter: 0))])
        XCTAssertEqual(parser.counters, .init(framesOK: 3))
    }

    func testAcceptsLowerCaseChecksumAndBareLineFeedOrCarriageReturn() {
        var parser = ParkingFrameParser()
        let frame = stateFrame("A-1", .free, counter: 7)
        let lower = frame.encoded.lowercased().replacingOccurrences(of: "$pkd,a-1", with: "$PKD,A-1")
        XCTAssertEqual(parser.outcomes(lower), [.frame(frame)])
        XCTAssertEqual(parser.outcomes(frame.encoded.replacingOccurrences(of: "\r\n", with: "\n")), [.frame(frame)])
        XCTAssertEqual(parser.outcomes(frame.encoded.replacingOccurrences(of: "\r\n", with: "\r")), [.frame(frame)])
        XCTAssertEqual(parser.counters.framesOK, 3)
        XCTAssertEqual(parser.counters.garbageBytes, 0)
    }

    func testFramesSplitAcrossReadsAtEveryByte() {
        let frames = [stateFrame("A-017", .occupied, counter: 1), heartbeatFrame("A-018", counter: 2)]
        let stream = Array(frames.map(\.encoded).joined().utf8)
        var parser = ParkingFrameParser()
        var out: [ParkingFrame] = []
        for byte in stream {
            parser.feed([byte]) { if case .frame(let f) = $0 { out.append(f) } }
        }
        XCTAssertEqual(out, frames)
    }

    func testCountsBadChecksumsAndAttributesThemToTheBay() {
        var parser = ParkingFrameParser()
        XCTAssertEqual(parser.outcomes(withBadChecksum(stateFrame("A-017", .free, counter: 3))),
                       [.rejected(.badChecksum, bay: "A-017")])
        XCTAssertEqual(parser.counters.badChecksum, 1)
        XCTAssertEqual(parser.counters.framesOK, 0)
    }

    func testMalformedLines() {
        func body(_ b: String) -> String { "$\(b)*\(ParkingFrame.checksumText(of: b))\r\n" }
        let cases: [(String, String?)] = [
            (body("PKX,A-017,1,3600,1"), nil),          // unknown type
            (body("PKD,A-017,3,3600,1"), "A-017"),      // state out of range
            (body("PKD,A-017,1,3600,65536"), "A-017"),  // counter out of range
            (body("PKD,A-017,1,3600"), "A-017"),        // missing field
            (body("PKD,A-017,1,3600,1,9"), "A-017"),    // extra field
            (body("PKD,,1,3600,1"), nil),               // empty bay
            (body("PKD,A 017,1,3600,1"), nil),          // space in bay
            (body("PKD,\(String(repeating: "B", count: 33)),1,3600,1"), nil),  // bay too long
            (body("PKH,A-017,3600,-8x,1"), "A-017"),    // rssi not a number
            (body("PKD,A-017,1,-3600,1"), "A-017"),     // negative battery
            ("$PKD,A-017,1,3600,1\r\n", "A-017"),       // no checksum
            ("$PKD,A-017,1,3600,1*G1\r\n", "A-017"),    // checksum not hex
            ("$\r\n", nil),                             // empty
        ]
        for (line, bay) in cases {
            var parser = ParkingFrameParser()
            XCTAssertEqual(parser.outcomes(line), [.rejected(.malformed, bay: bay)], line)
            XCTAssertEqual(parser.counters.malformed, 1, line)
        }
    }

    func testResynchronisesOnDollarAndCountsGarbage() {
        var parser = ParkingFrameParser()
        let good = stateFrame("A-017", .occupied, counter: 9)
        // Noise, then a frame cut off by the next one's `$`, then the good frame.
        let out = parser.outcomes("\u{00}xx\u{FF}$PKD,A-01" + good.encoded + "\r\n\n")
        // The cut frame's bay field is readable, so the fault can still be put on a bay.
        XCTAssertEqual(out, [.rejected(.malformed, bay: "A-01"), .frame(good)])
        XCTAssertEqual(parser.counters.garbageBytes, 5)  // NUL, x, x and the two UTF-8 bytes of U+00FF
        XCTAssertEqual(parser.counters.malformed, 1)
        XCTAssertEqual(parser.counters.framesOK, 1)
    }

    func testOversizeLineIsDroppedAndParsingRecovers() {
        var parser = ParkingFrameParser()
        let good = heartbeatFrame("A-017", counter: 1)
        let long = "$PKD," + String(repeating: "A", count: 500)
        XCTAssertEqual(parser.outcomes(long + "\r\n" + good.encoded), [.rejected(.oversize, bay: nil), .frame(good)])
        XCTAssertEqual(parser.counters.oversizeLines, 1)
        XCTAssertEqual(parser.counters.garbageBytes, 0)
        // A new `$` inside the over-long junk starts a fresh frame at once.
        XCTAssertEqual(parser.outcomes(long + good.encoded), [.rejected(.oversize, bay: nil), .frame(good)])
    }

    func testDiscardingAPartialLineForgetsIt() {
        var parser = ParkingFrameParser()
        _ = parser.outcomes("$PKD,A-017,1,36")
        parser.discardPartialLine()
        XCTAssertEqual(parser.outcomes("00,1*00\r\n"), [])
        XCTAssertEqual(parser.counters.garbageBytes, 7)
    }

    /// Valid frames, frames with one byte corrupted and runs of random noise
    /// between them: exactly the intact frames come out, in order.
    func testFuzzMixedStreamYieldsExactlyTheIntactFrames() {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let alphabet = Array("$PKDH,0123456789*ABCDEFabcdef-_\r\n ".utf8)
        for round in 0..<20 {
            var stream: [UInt8] = []
            var expected: [ParkingFrame] = []
            for _ in 0..<200 {
                let bay = "B-\(Int.random(in: 0...999, using: &rng))"
                let counter = UInt16.random(in: 0...UInt16.max, using: &rng)
                let frame = Bool.random(using: &rng)
                    ? stateFrame(bay, ParkingBayState(rawValue: Int.random(in: 0...2, using: &rng))!,
                                 battery: Int.random(in: 0...65535, using: &rng), counter: counter)
                    : heartbeatFrame(bay, battery: Int.random(in: 0...9999, using: &rng),
                                     rssi: Int.random(in: -255...255, using: &rng), counter: counter)
                var bytes = Array(frame.encoded.utf8)
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    // Corrupt one byte between `$` and the checksum, never into a line end or `$`.
                    let i = Int.random(in: 1..<(bytes.count - 2), using: &rng)
                    var replacement: UInt8
                    repeat { replacement = UInt8.random(in: 0...255, using: &rng) }
                    while replacement == bytes[i] || replacement == 0x24 || replacement == 0x0D || replacement == 0x0A
                    bytes[i] = replacement
                } else {
                    expected.append(frame)
                }
                stream += bytes
                // Noise between frames: random bytes, or frame-like characters that make near-misses.
                for _ in 0..<Int.random(in: 0...40, using: &rng) {
                    stream.append(Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng)
                                                           : alphabet.randomElement(using: &rng)!)
                }
                // Noise must end its own partial line, or it would swallow the next frame's start.
                stream += [0x0A]
            }
            var parser = ParkingFrameParser()
            var got: [ParkingFrame] = []
            var offset = 0
            while offset < stream.count {
                let n = min(stream.count - offset, Int.random(in: 1...300, using: &rng))
                parser.feed(stream[offset..<offset + n]) { if case .frame(let f) = $0 { got.append(f) } }
                offset += n
            }
            // Noise can by chance form a valid frame (1 in 256 checksums match); those are not ours.
            let ours = got.filter { $0.bay.hasPrefix("B-") }
            XCTAssertEqual(ours, expected, "round \(round)")
            XCTAssertEqual(parser.counters.framesOK, UInt64(got.count))
        }
    }

    /// Pure random bytes, and random bytes from the frame alphabet: the parser
    /// never traps, and every frame it yields came from a line whose checksum
    /// really matches (checked by an independent line splitter below).
    func testFuzzRandomBytesNeverYieldAFrameWithABadChecksum() {
        var rng = SplitMix64(seed: 0x5EED_0002)
        let alphabet = Array("$PKDH,0123456789*ABCDEF-\r\n".utf8)
        var totals = ParkingFrameParser.Counters()
        for round in 0..<200 {
            let bytes: [UInt8] = (0..<10_000).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)!
            }
            var parser = ParkingFrameParser()
            var outcomes: [ParkingFrameParser.Outcome] = []
            bytes.withUnsafeBytes { raw in parser.feed(raw) { outcomes.append($0) } }
            let lines = Self.referenceLines(bytes)
            XCTAssertEqual(outcomes.count, lines.count, "round \(round)")
            for (outcome, line) in zip(outcomes, lines) {
                guard case .frame(let frame) = outcome else { continue }
                XCTAssertTrue(line.map(Self.checksumMatches) ?? false, "frame \(frame) from a line without a matching checksum")
                XCTAssertTrue(ParkingFrameParser.isBay(Array(frame.bay.utf8)[...]))
            }
            let c = parser.counters
            XCTAssertEqual(c.framesOK + c.badChecksum + c.malformed + c.oversizeLines, UInt64(outcomes.count))
            totals.framesOK += c.framesOK
            totals.badChecksum += c.badChecksum
            totals.garbageBytes += c.garbageBytes
        }
        XCTAssertGreaterThan(totals.garbageBytes, 0)
        XCTAssertGreaterThan(totals.badChecksum, 0)
    }

    /// The line framing rules, written out plainly: a `$` starts a line (ending
    /// any open one), CR or LF ends it, 128 bytes without an end make it
    /// oversize (`nil`) and the rest up to a line end is skipped.
    static func referenceLines(_ bytes: [UInt8]) -> [[UInt8]?] {
        var out: [[UInt8]?] = []
        var current: [UInt8] = []
        var mode = 0  // 0 outside a line, 1 in a line, 2 skipping an oversize line
        for b in bytes {
            if b == 0x24 {
                if mode == 1 { out.append(current) }
                current = []
                mode = 1
                continue
            }
            let end = b == 0x0D || b == 0x0A
            if mode == 2 { if end { mode = 0 } }
            else if mode == 1 {
                if end { out.append(current); mode = 0 }
                else if current.count == 128 { out.append(nil); mode = 2 }
                else { current.append(b) }
            }
        }
        return out
    }

    static func checksumMatches(_ line: [UInt8]) -> Bool {
        guard line.count >= 3, line[line.count - 3] == 0x2A,
              let sent = UInt8(String(decoding: line.suffix(2), as: UTF8.self), radix: 16) else { return false }
        return line.dropLast(3).reduce(0, ^) == sent
    }
}
