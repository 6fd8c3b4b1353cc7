import XCTest
final class GatewayConfigTestsPlaceholder: XCTestCase { func testBuilds() {} }
