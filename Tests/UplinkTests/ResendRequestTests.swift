import GatewayModel
@testable import Uplink
import XCTest

/// `cmd/resend` payloads as a subscriber's tool sends them, read without Foundation.
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
        XCTAssertEqual(try read(" {\"to\": 9223372036854775807,\n \"store\": \"s\", \"from\": 1, \"by\": \"ops\"} "),
                       .init(store: "s", from: 1, to: 9_223_372_036_854_775_807), "any order, spaces, unknown members ignored")
    }

    func testAnythingElseIsRefusedWithAReason() {
        XCTAssertEqual(problem(#"{"store":"s","from":1}"#), "\"to\" is missing")
        XCTAssertEqual(problem(#"{"from":1,"to":2}"#), "\"store\" is missing")
        XCTAssertEqual(problem(#"{"store":7,"from":1,"to":2}"#), "store: expected a string, found the number 7")
        XCTAssertEqual(problem(#"{"store":"s","from":"1","to":2}"#), "from: expected a whole number of 0 or more, found a string")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":-5}"#), "to: -5 does not fit UInt64")
        XCTAssertEqual(problem(#"[1000,1999]"#), "expected an object, found an array")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":2"#), "not valid JSON at byte 28: the text ends inside an object")
        XCTAssertEqual(problem("resend 1000-1999"), "not valid JSON at byte 0: unexpected 'r' where a value should be")
    }
}
