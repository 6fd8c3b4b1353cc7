import XCTest
final class GatewayCtlPlaceholderTests: XCTestCase { func testBuilds() {} }
