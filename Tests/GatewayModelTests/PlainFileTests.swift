import Foundation
import GatewayModel
import XCTest

/// PlainFile and ProcessEnvironment, checked against Foundation's own answers.
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
        XCTAssertEqual(String(decoding: try PlainFile.read(path), as: UTF8.self), "two\n")
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
