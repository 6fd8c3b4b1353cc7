import GatewayModel
@testable import Uplink
import XCTest

/// `cmd/resend` payloads as a subscriber's tool sends them: the documented shape
/// is read, anything else is refused with the reason the warning carries.
final class ResendRequestTests: XCTestCase {
    private func read(_ text: String) throws -> Uplink.ResendRequest {
        try Uplink.ResendRequest(payload: Array(text.utf8))
    }

    private func problem(_ text: String) -> String {
        let outcome = Result { try read(text) }
        if case .failure(let error) = outcome { return "\(error)" }
        return "no error"
    }

    func testTheDocumentedShapeIsRead() throws {
        XCTAssertEqual(try read(#"{"store":"6f1c","from":1000,"to":1999}"#), .init(store: "6f1c", from: 1000, to: 1999))
        XCTAssertEqual(try read(" {\"to\": 9223372036854775807,\n \"store\": \"s\", \"from\": 1, \"by\": \"ops\", \"x\": [1, {\"a\": null}]} "),
                       .init(store: "s", from: 1, to: 9_223_372_036_854_775_807), "any order, spaces, unknown members ignored")
        XCTAssertEqual(try read(#"{"store":"s","from":7,"to":7}"#), .init(store: "s", from: 7, to: 7), "a range of one record")
    }

    func testAnythingElseIsRefusedWithAReason() {
        let seq = "a whole number from 1 to 9223372036854775807"
        XCTAssertEqual(problem(#"{"store":"s","from":1}"#), "\"to\" is missing")
        XCTAssertEqual(problem(#"{"from":1,"to":2}"#), "\"store\" is missing")
        XCTAssertEqual(problem(#"{"store":7,"from":1,"to":2}"#), "store: expected a string, found the number 7")
        XCTAssertEqual(problem(#"{"store":null,"from":1,"to":2}"#), "store: expected a string, found null")
        XCTAssertEqual(problem(#"{"store":"s","from":"1","to":2}"#), "from: expected \(seq), found a string")
        XCTAssertEqual(problem(#"{"store":"s","from":[1],"to":2}"#), "from: expected \(seq), found an array")
        XCTAssertEqual(problem(#"{"store":"s","from":true,"to":2}"#), "from: expected \(seq), found true")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":-5}"#), "to: expected \(seq), found the number -5")
        XCTAssertEqual(problem(#"{"store":"s","from":1.5,"to":2}"#), "from: expected \(seq), found the number 1.5")
        XCTAssertEqual(problem(#"{"store":"s","from":0,"to":2}"#), "from: expected \(seq), found the number 0")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":9223372036854775808}"#), "to: expected \(seq), found the number 9223372036854775808")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":18446744073709551616}"#), "to: expected \(seq), found the number 18446744073709551616")
        XCTAssertEqual(problem(#"{"store":"s","from":20,"to":10}"#), "from (20) is above to (10)")
        XCTAssertEqual(problem(#"[1000,1999]"#), "expected an object, found an array")
        XCTAssertEqual(problem(#""resend""#), "expected an object, found a string")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":2"#), "not valid JSON (at byte 28: the document ends inside an array or object)")
        XCTAssertEqual(problem("resend 1000-1999"), "not valid JSON (at byte 0: unexpected character)")
        XCTAssertEqual(problem(""), "not valid JSON (at byte 0: the document ends where a value should be)")
        XCTAssertEqual(problem(String(repeating: "[", count: 100_000)), "not valid JSON (at byte 64: nested deeper than 64 levels)")
    }
}
