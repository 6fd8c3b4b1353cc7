import XCTest
final class DriversTestsPlaceholder: XCTestCase { func testBuilds() {} }
