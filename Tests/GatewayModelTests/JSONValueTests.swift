import Foundation
import GatewayModel
import XCTest

/// The control socket's message shapes in miniature: nested objects, optionals,
/// arrays, String-keyed dictionaries, raw-value enums, 64-bit integers.
private struct Probe: Codable, Equatable {
    enum State: String, Codable { case ok, failing }
    struct Inner: Codable, Equatable {
        var id: String
        var state: State
        var lastGood: Int64?
        var counters: [String: UInt64]
    }
    var error: String?
    var seq: UInt64
    var offset: Int64
    var utilisation: Double
    var registers: [UInt16]?
    var bits: [Bool]?
    var inner: [Inner]
    var flag: Bool
}

private let sample = Probe(
    error: nil, seq: UInt64.max, offset: Int64.min, utilisation: 0.125, registers: [0, 65535], bits: nil,
    inner: [.init(id: "inlet \"flow\"/1\n", state: .failing, lastGood: 1_795_305_600_123, counters: ["crc": 3, "é": 0])],
    flag: true)

final class JSONValueTests: XCTestCase {
    func testRoundTripKeepsEveryValueExactly() throws {
        let bytes = try JSONValueEncoder().encodeBytes(sample)
        XCTAssertEqual(try JSONValueDecoder().decode(Probe.self, from: bytes), sample)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertFalse(text.contains("\"error\""), "nil optionals are left out, as JSONEncoder does")
        XCTAssertTrue(text.contains("\"seq\":18446744073709551615"), "a 64-bit seq is written digit for digit")
        XCTAssertFalse(text.contains("\n"), "the control protocol is one line")
    }

    /// A gatewayctl built with Foundation and a gatewayd without it (or the reverse) understand each other.
    func testFoundationReadsWhatWeWriteAndWeReadWhatFoundationWrites() throws {
        let ours = try JSONValueEncoder().encodeBytes(sample)
        XCTAssertEqual(try JSONDecoder().decode(Probe.self, from: Data(ours)), sample)
        let theirs = try JSONEncoder().encode(sample)
        XCTAssertEqual(try JSONValueDecoder().decode(Probe.self, from: Array(theirs)), sample)
    }

    func testUnknownMembersAreIgnoredAndOrderDoesNotMatter() throws {
        struct Resend: Decodable, Equatable { var store: String; var from: UInt64; var to: UInt64 }
        let text = #" { "to" : 1999, "extra": [1, {"a": null}], "from":1000, "store":"6f1c" } "#
        XCTAssertEqual(try JSONValueDecoder().decode(Resend.self, from: Array(text.utf8)), Resend(store: "6f1c", from: 1000, to: 1999))
    }

    func testWrongKindsAndMissingMembersSayWhere() {
        struct Resend: Decodable { var store: String; var from: UInt64; var to: UInt64 }
        func problem(_ text: String) -> String {
            let outcome = Result { try JSONValueDecoder().decode(Resend.self, from: Array(text.utf8)) }
            if case .failure(let error) = outcome { return "\(error)" }
            return "no error"
        }
        XCTAssertEqual(problem(#"{"store":"s","from":1}"#), "\"to\" is missing")
        XCTAssertEqual(problem(#"{"store":"s","from":"1","to":2}"#), "from: expected a whole number of 0 or more, found a string")
        XCTAssertEqual(problem(#"{"store":"s","from":-1,"to":2}"#), "from: -1 does not fit UInt64")
        XCTAssertEqual(problem(#"{"store":"s","from":1.5,"to":2}"#), "from: 1.5 does not fit UInt64")
        XCTAssertEqual(problem(#"{"store":"s","from":1,"to":18446744073709551616}"#), "to: 18446744073709551616 does not fit UInt64")
        XCTAssertEqual(problem(#"[1,2]"#), "expected an object, found an array")
        XCTAssertNoThrow(try JSONValueDecoder().decode(UInt64.self, from: JSONValue.parse("1e3")), "a whole number in exponent form is a number")
    }

    func testSyntaxErrorsNameTheByteAndTheReason() {
        let cases: [(String, String)] = [
            ("", "not valid JSON at byte 0: the text ends where a value should be"),
            (#"{"a":1,}"#, "not valid JSON at byte 7: expected a key in quotes, found '}'"),
            (#"{"a":1 "b":2}"#, "not valid JSON at byte 7: expected ',' or '}' in an object, found '\"'"),
            (#"{"a":1,"a":2}"#, "not valid JSON at byte 7: the key \"a\" appears twice"),
            ("[01]", "not valid JSON at byte 2: a number must not start with 0 (write 7, not 07)"),
            ("\"tab\there\"", "not valid JSON at byte 4: a control character inside a string must be escaped"),
            ("{} x", "not valid JSON at byte 3: unexpected 'x' after the end of the value"),
            ("tru", "not valid JSON at byte 0: the text ends inside true"),
            (#""\q""#, "not valid JSON at byte 2: unknown escape \\q"),
            (String(repeating: "[", count: 300), "not valid JSON at byte 256: nested deeper than 256 levels"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try JSONValue.parse(text), text) { XCTAssertEqual("\($0)", message, text) }
        }
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xFF, 0x22])) { XCTAssertEqual("\($0)", "not valid JSON at byte 3: a string is not valid UTF-8") }
    }

    func testStringsEscapesAndSurrogatesDecode() throws {
        XCTAssertEqual(try JSONValue.parse(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#), .string("a\"b\\c/d\né😀"))
        XCTAssertThrowsError(try JSONValue.parse(#""\ud83d""#))
        let written = JSONValue.object(JSONObject([("k", .string("x\u{1}y")), ("n", .number("-0.5e3")), ("z", .null)])).text
        XCTAssertEqual(written, #"{"k":"x\u0001y","n":-0.5e3,"z":null}"#)
        XCTAssertEqual(try JSONValue.parse(written).text, written)
    }

    func testNonFiniteNumbersAreRefusedWithTheirPlace() {
        struct M: Encodable { var latency: Double }
        XCTAssertThrowsError(try JSONValueEncoder().encode(M(latency: .nan))) {
            XCTAssertEqual("\($0)", "latency: nan has no JSON form")
        }
    }
}

final class PlainFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "plainfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testMakeDirectoriesCreatesParentsAndAcceptsAnExistingOne() throws {
        let deep = directory + "/a/b/c"
        try PlainFile.makeDirectories(deep)
        XCTAssertTrue(PlainFile.isDirectory(deep))
        XCTAssertNoThrow(try PlainFile.makeDirectories(deep + "/"))
    }

    func testAFileInTheWayIsNamedInTheError() throws {
        try PlainFile.makeDirectories(directory)
        try PlainFile.write(directory + "/file", bytes: Array("x".utf8))
        XCTAssertThrowsError(try PlainFile.makeDirectories(directory + "/file/sub")) {
            XCTAssertEqual("\($0)", "cannot create the directory \(directory)/file: Not a directory")
        }
    }

    func testReplaceIsAtomicAndLeavesNoTemporaryFile() throws {
        try PlainFile.makeDirectories(directory)
        let path = directory + "/gatewayd.prom"
        try PlainFile.replace(path, with: Array("one\n".utf8))
        try PlainFile.replace(path, with: Array("two\n".utf8), sync: false)
        XCTAssertEqual(try PlainFile.readText(path), "two\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["gatewayd.prom"])
    }

    func testMissingAndUnreadableFilesSayWhy() throws {
        XCTAssertThrowsError(try PlainFile.read(directory + "/nothing")) {
            XCTAssertEqual($0 as? PlainFileError, .cannotOpen(path: directory + "/nothing", errno: ENOENT))
            XCTAssertEqual("\($0)", "cannot open \(directory)/nothing: No such file or directory")
        }
        XCTAssertFalse(PlainFile.exists(directory + "/nothing"))
        XCTAssertFalse(PlainFile.isReadable(directory + "/nothing"))
        try PlainFile.makeDirectories(directory)
        XCTAssertThrowsError(try PlainFile.replace(directory + "/missing-dir/x", with: [1])) {
            XCTAssertEqual(($0 as? PlainFileError)?.errno, ENOENT)
        }
        let big = directory + "/big"
        try PlainFile.write(big, bytes: [UInt8](repeating: 65, count: 100))
        XCTAssertThrowsError(try PlainFile.read(big, limit: 10)) {
            XCTAssertEqual($0 as? PlainFileError, .tooLarge(path: big, limitBytes: 10))
        }
    }

    func testEnvironmentMatchesProcessInfo() {
        XCTAssertEqual(ProcessEnvironment.variables(), ProcessInfo.processInfo.environment)
        XCTAssertEqual(ProcessEnvironment.value("PATH"), ProcessInfo.processInfo.environment["PATH"])
        XCTAssertNil(ProcessEnvironment.value("GATEWAYD_SURELY_UNSET_\(getpid())"))
    }
}
