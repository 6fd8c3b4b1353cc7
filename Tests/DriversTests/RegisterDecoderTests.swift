import Drivers
import GatewayModel
import XCTest

final class RegisterDecoderTests: XCTestCase {
    /// Lays big-endian value bytes into registers the way a device with the given orders would.
    private func registers(bigEndianBytes b: [UInt8], byteOrder: ByteOrder, wordOrder: ByteOrder) -> [UInt16] {
        var words: [UInt16] = []
        for i in stride(from: 0, to: b.count, by: 2) {
            let high = byteOrder == .big ? b[i] : b[i + 1]
            let low = byteOrder == .big ? b[i + 1] : b[i]
            words.append(UInt16(high) << 8 | UInt16(low))
        }
        if wordOrder == .little { words.reverse() }
        return words
    }

    private func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    /// (type, big-endian bytes of the raw value, expected raw value)
    private func samples() -> [(PointType, [UInt8], Double)] {
        [
            (.int16, bytes(Int16(-12345)), -12345),
            (.int16, bytes(Int16(0x1234)), 0x1234),
            (.uint16, bytes(UInt16(0xBEEF)), 0xBEEF),
            (.int32, bytes(Int32(-123_456_789)), -123_456_789),
            (.uint32, bytes(UInt32(0xDEADBEEF)), 0xDEADBEEF),
            (.int64, bytes(Int64(-1_234_567_890_123)), -1_234_567_890_123),
            (.uint64, bytes(UInt64(0x0102_0304_0506_0708)), Double(UInt64(0x0102_0304_0506_0708))),
            (.float32, bytes(Float(123.456).bitPattern), Double(Float(123.456))),
            (.float32, bytes(Float(-0.5).bitPattern), -0.5),
            (.float64, bytes(Double(-98765.4321).bitPattern), -98765.4321),
            (.bool, bytes(UInt16(0)), 0),
            (.bool, bytes(UInt16(0x0100)), 1),
        ]
    }

    func testEveryTypeUnderEveryByteAndWordOrder() {
        for (type, b, expected) in samples() {
            XCTAssertEqual(b.count, type.registerCount * 2)
            for byteOrder in ByteOrder.allCases {
                for wordOrder in ByteOrder.allCases {
                    let regs = registers(bigEndianBytes: b, byteOrder: byteOrder, wordOrder: wordOrder)
                    let raw = RegisterDecoder.raw(regs[...], type: type, byteOrder: byteOrder, wordOrder: wordOrder)
                    XCTAssertEqual(raw, expected, "\(type) byte \(byteOrder) word \(wordOrder) regs \(regs)")
                }
            }
        }
    }

    func testKnownFloatLayouts() {
        // 123.456 = 0x42F6E979; the classic four layouts as devices send them.
        let layouts: [(ByteOrder, ByteOrder, [UInt16])] = [
            (.big, .big, [0x42F6, 0xE979]),       // ABCD
            (.big, .little, [0xE979, 0x42F6]),    // CDAB
            (.little, .big, [0xF642, 0x79E9]),    // BADC
            (.little, .little, [0x79E9, 0xF642]), // DCBA
        ]
        for (byteOrder, wordOrder, regs) in layouts {
            let v = RegisterDecoder.raw(regs[...], type: .float32, byteOrder: byteOrder, wordOrder: wordOrder)
            XCTAssertEqual(Float(v), Float(123.456), "byte \(byteOrder) word \(wordOrder)")
        }
    }

    func testScaleAndOffset() {
        let p = PointConfiguration(name: "pressure_bar", table: .input, address: 0, type: .int16, scale: 0.01, offset: -1)
        XCTAssertEqual(RegisterDecoder.value([UInt16(bitPattern: -250)][...], point: p), -3.5, accuracy: 1e-9)
        let coil = PointConfiguration(name: "pump_on", table: .coil, address: 0, type: .bool)
        XCTAssertEqual(RegisterDecoder.value(bit: true, point: coil), 1)
        XCTAssertEqual(RegisterDecoder.value(bit: false, point: coil), 0)
    }

    func testBoolOnRegisterMeansNonZero() {
        for reg: UInt16 in [1, 0x8000, 0xFFFF] {
            XCTAssertEqual(RegisterDecoder.raw([reg][...], type: .bool, byteOrder: .big, wordOrder: .big), 1)
        }
    }

    func testDecodingTableShowsAllLayouts() {
        let rows = DecodingTable.interpretations([0x42F6, 0xE979])
        XCTAssertEqual(rows.count, 8)
        let abcd = rows.first { $0.index == 0 && $0.layout == .abcd }!
        XCTAssertEqual(abcd.float32, Float(123.456))
        XCTAssertEqual(abcd.uint16, 0x42F6)
        XCTAssertEqual(abcd.uint32, 0x42F6_E979)
        let cdab = rows.first { $0.index == 0 && $0.layout == .cdab }!
        XCTAssertEqual(cdab.uint32, 0xE979_42F6)
        let badc = rows.first { $0.index == 0 && $0.layout == .badc }!
        XCTAssertEqual(badc.uint16, 0xF642)
        XCTAssertEqual(badc.int32, Int32(bitPattern: 0xF642_79E9))
        let last = rows.first { $0.index == 1 && $0.layout == .dcba }!
        XCTAssertEqual(last.uint16, 0x79E9)
        XCTAssertNil(last.float32)
    }
}
