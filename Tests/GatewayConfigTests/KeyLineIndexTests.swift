@testable import GatewayConfig
import XCTest

final class KeyLineIndexTests: XCTestCase {
    func testNestedArraysOfTablesCountPerParent() {
        let text = """
        [gateway]
        id = "gw"

        [[device]]
        id = "a"
          [[device.point]]
          name = "p0"
          [[device.point]]
          name = "p1"

        [[device]]
        id = "b"
          [[device.point]]
          name = "q0"
          address = 3
        """
        let index = KeyLineIndex(text: text)
        XCTAssertEqual(index.line(of: "gateway.id"), 2)
        XCTAssertEqual(index.line(of: "device[0]"), 4)
        XCTAssertEqual(index.line(of: "device[0].point[0].name"), 7)
        XCTAssertEqual(index.line(of: "device[0].point[1]"), 8)
        XCTAssertEqual(index.line(of: "device[0].point[1].name"), 9)
        XCTAssertEqual(index.line(of: "device[1].id"), 12)
        // The second device's points count from 0 again.
        XCTAssertEqual(index.line(of: "device[1].point[0].address"), 15)
        XCTAssertNil(index.lines["device[1].point[2]"])
    }

    func testMissingKeysFallBackToTheirTable() {
        let index = KeyLineIndex(text: "# comment\n\n[[bus]]\nname = \"x\"\n\n[[bus]]\ntype = \"modbus-tcp\"\n")
        XCTAssertEqual(index.line(of: "bus[1].host"), 6)
        XCTAssertEqual(index.line(of: "bus[0].port"), 3)
        XCTAssertEqual(index.line(of: "gateway.id"), 1)
    }

    func testInlineTablesArraysAndStrings() {
        let text = """
        [[device]]
        id = "a # not a comment = nor a key"
        note = '''
        multi [line] = "text"
        '''
        point = [
          { name = "flow", address = 0 },
          { name = "level",
            address = 2 },
        ]
        "quoted key" = 1
        dotted.key = 2
        """
        let index = KeyLineIndex(text: text)
        XCTAssertEqual(index.line(of: "device[0].point[0].address"), 7)
        XCTAssertEqual(index.line(of: "device[0].point[1].name"), 8)
        XCTAssertEqual(index.line(of: "device[0].point[1].address"), 9)
        XCTAssertEqual(index.line(of: "device[0].quoted key"), 11)
        XCTAssertEqual(index.line(of: "device[0].dotted.key"), 12)
        XCTAssertNil(index.lines["device[0].multi [line]"], "text inside a multi-line string is not a key")
        XCTAssertNil(index.lines["multi"])
    }

    func testSubTableOfAnArrayElement() {
        let index = KeyLineIndex(text: "[[device]]\nid = \"a\"\n[[device]]\nid = \"b\"\n[device.extra]\nx = 1\n")
        XCTAssertEqual(index.line(of: "device[1].extra.x"), 6)
    }
}
