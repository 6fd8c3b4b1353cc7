import XCTest
final class GatewayModelTestsPlaceholder: XCTestCase { func testBuilds() {} }
