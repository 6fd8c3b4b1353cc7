import XCTest
final class UplinkTestsPlaceholder: XCTestCase { func testBuilds() {} }
