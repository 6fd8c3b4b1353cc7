import XCTest
final class BufferStoreTestsPlaceholder: XCTestCase { func testBuilds() {} }
