import Foundation
import GatewayJSON
import XCTest

/// The JSON the control socket and `cmd/resend` carry: read strictly, written
/// compactly, and the same on the wire as Foundation's coder wrote it before.
final class GatewayJSONTests: XCTestCase {
    struct Device: Codable, Equatable {
        var unit: UInt8
        var name: String
        var polls: UInt64
        var lastError: String?
    }

    struct Status: Codable, Equatable {
        enum Mode: String, Codable { case live, backlog }
        var gateway: String
        var pid: Int32
        var startedAt: Int64
        var lastSeq: UInt64
        var utilisation: Double
        var latency: Float?
        var connected: Bool
        var mode: Mode
        var devices: [Device]
        var counters: [String: UInt64]
        var matrix: [[Int]]
        var note: String?
    }

    private let sample = Status(
        gateway: "gw-dma07-01 \"north\"\n\t\u{01}é💧", pid: 4321, startedAt: Int64.min, lastSeq: UInt64.max,
        utilisation: 0.125, latency: 1.5, connected: true, mode: .backlog,
        devices: [Device(unit: 255, name: "meter/1", polls: 7, lastError: nil), Device(unit: 1, name: "", polls: 0, lastError: "timeout")],
        counters: ["crc": 3, "garbage_bytes": 0], matrix: [[], [1, -2]], note: nil)

    private func roundTrip<T: Codable>(_ value: T) throws -> T {
        let bytes = try JSONValueEncoder().encode(value).bytes
        return try JSONValueDecoder().decode(T.self, from: JSONValue(parsing: bytes))
    }

    private func decodingReason<T: Decodable>(_ type: T.Type, _ text: String) -> String {
        do {
            _ = try JSONValueDecoder().decode(type, from: JSONValue(parsing: Array(text.utf8)))
            return "no error"
        } catch let error as DecodingError {
            return JSONValueDecoder.reason(for: error)
        } catch {
            return "\(error)"
        }
    }

    private func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try JSONValue(parsing: Array(text.utf8))
            return nil
        } catch {
            return error as? JSONSyntaxError
        }
    }

    func testCodableValuesSurviveTheTripWithEveryDigitAndCharacter() throws {
        XCTAssertEqual(try roundTrip(sample), sample)
        XCTAssertEqual(try roundTrip([Double.leastNonzeroMagnitude, 1e300, -0.1, 3]), [Double.leastNonzeroMagnitude, 1e300, -0.1, 3])
        XCTAssertEqual(try roundTrip(["a": [Int64.max, Int64.min]]), ["a": [Int64.max, Int64.min]])
    }

    func testOutputIsCompactOneLineAndLeavesNilMembersOut() throws {
        let text = String(decoding: try JSONValueEncoder().encode(Device(unit: 3, name: "a\nb", polls: 10, lastError: nil)).bytes, as: UTF8.self)
        XCTAssertEqual(text, #"{"unit":3,"name":"a\nb","polls":10}"#)
        XCTAssertFalse(String(decoding: try JSONValueEncoder().encode(sample).bytes, as: UTF8.self).contains("\n"))
    }

    func testTheWireFormatIsFoundationsBothWays() throws {
        // gatewayctl and gatewayd of the same package speak this; it must also be plain JSON any tool reads.
        let ours = try JSONValueEncoder().encode(sample).bytes
        XCTAssertEqual(try JSONDecoder().decode(Status.self, from: Data(ours)), sample)
        let theirs = Array(try JSONEncoder().encode(sample))
        XCTAssertEqual(try JSONValueDecoder().decode(Status.self, from: JSONValue(parsing: theirs)), sample)
    }

    func testNumbersWithNoJSONFormAreRefused() {
        XCTAssertThrowsError(try JSONValueEncoder().encode([Double.nan])) { error in
            guard case EncodingError.invalidValue = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try JSONValueEncoder().encode(["x": Double.infinity]))
    }

    func testDocumentsAreReadAsWritten() throws {
        let value = try JSONValue(parsing: Array(" {\"a\" : [1, -0.5e+3, 18446744073709551616, true, false, null, \"\\u00e9\\ud83d\\udca7\\/\\\"\"], \"b\": {}, \"a\": 2 } ".utf8))
        XCTAssertEqual(value["a"], .number("2"), "a repeated member: the last one counts")
        guard case .object(let members) = value, case .array(let first) = members[0].value else { return XCTFail("\(value)") }
        XCTAssertEqual(first, [.number("1"), .number("-0.5e+3"), .number("18446744073709551616"), .bool(true), .bool(false), .null, .string("é💧/\"")])
        XCTAssertEqual(value["b"], .object([]))
        XCTAssertNil(value["c"])
        XCTAssertEqual(JSONValue.number("18446744073709551616").inWords, "the number 18446744073709551616")
    }

    func testAnythingButOneJSONDocumentIsRefusedWithWhere() {
        XCTAssertEqual(syntaxError("")?.offset, 0)
        XCTAssertEqual(syntaxError("")?.description, "not valid JSON (at byte 0: the document ends where a value should be)")
        XCTAssertEqual(syntaxError("{\"a\":1} x")?.offset, 8)
        XCTAssertEqual(syntaxError("{\"a\":1")?.problem, "the document ends inside an array or object")
        XCTAssertEqual(syntaxError("[1,]")?.problem, "unexpected character")
        XCTAssertEqual(syntaxError("{a:1}")?.problem, "expected a member name in quotes")
        XCTAssertEqual(syntaxError("[01]")?.problem, "a number cannot start with 0")
        XCTAssertEqual(syntaxError("[1.]")?.problem, "a fraction needs digits")
        XCTAssertEqual(syntaxError("[-]")?.problem, "a number needs digits")
        XCTAssertEqual(syntaxError("[1e]")?.problem, "an exponent needs digits")
        XCTAssertEqual(syntaxError("[tru]")?.problem, "unexpected character")
        XCTAssertEqual(syntaxError("\"a\nb\"")?.problem, "a control character must be escaped inside a string")
        XCTAssertEqual(syntaxError(#""\ud83d""#)?.problem, "a lone UTF-16 surrogate")
        XCTAssertEqual(syntaxError(#""\x""#)?.problem, "unknown escape \\x")
        XCTAssertEqual(syntaxError(#""\u12""#)?.problem, "\\u needs four hex digits")
        XCTAssertNotNil(syntaxError("'a'"))
        XCTAssertEqual((try? JSONValue(parsing: [0x22, 0xFF, 0x22])).map { "\($0)" }, nil, "not UTF-8")
        XCTAssertEqual(syntaxError("\"\u{7F}\"" ), nil, "DEL is allowed unescaped")
        XCTAssertEqual(syntaxError("[1, 2]\n"), nil)
        XCTAssertEqual(syntaxError(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)), nil, "64 levels are read")
        XCTAssertEqual(syntaxError(String(repeating: "[", count: 65))?.problem, "nested deeper than 64 levels")
        // From the network: a million brackets is refused, not a stack overflow.
        XCTAssertEqual(syntaxError(String(repeating: "[", count: 1_000_000))?.offset, 64)
    }

    func testDecodingErrorsSayWhichMemberAndWhatWasFound() {
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":1,"name":"x"}"#), "\"polls\" is missing")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":256,"name":"x","polls":1}"#), "unit: expected a whole number of 0 or more, found the number 256")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":-1,"name":"x","polls":1}"#), "unit: expected a whole number of 0 or more, found the number -1")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":1,"name":null,"polls":1}"#), "name: expected a string, found null")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":1,"name":"x","polls":1.5}"#), "polls: expected a whole number of 0 or more, found the number 1.5")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":1,"name":"x","polls":1e3}"#), "no error", "a whole number in exponent form is whole")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":1,"name":"x","polls":1,"lastError":7}"#), "lastError: expected a string, found the number 7")
        XCTAssertEqual(decodingReason(Device.self, #"{"unit":1,"name":"x","polls":1,"lastError":null,"new":[1]}"#), "no error", "unknown members and null optionals")
        XCTAssertEqual(decodingReason(Device.self, "[1]"), "expected an object, found an array")
        XCTAssertEqual(decodingReason(Status.self, String(decoding: try! JSONValueEncoder().encode(sample).bytes, as: UTF8.self)
            .replacingOccurrences(of: #""name":"meter\/1""#, with: #""name":true"#)
            .replacingOccurrences(of: #""name":"meter/1""#, with: #""name":true"#)), "devices[0].name: expected a string, found true")
        XCTAssertEqual(decodingReason([Bool].self, "[true, 0]"), "[1]: expected true or false, found the number 0")
        XCTAssertEqual(decodingReason(Status.Mode.self, #""idle""#).hasPrefix("Cannot initialize Mode"), true,
                       decodingReason(Status.Mode.self, #""idle""#))
        XCTAssertEqual(decodingReason(Double.self, "1e400"), "expected a number, found the number 1e400")
        XCTAssertEqual(decodingReason([String: Int].self, #"{"a":"b"}"#), "a: expected a whole number, found a string")
    }
}
