@testable import GatewayConfig
import XCTest

/// The toml++ walk (`CTOMLDocument`) turned into `ConfigValue`s: every TOML
/// shape the reader meets arrives whole and in the right place.
final class TOMLDocumentTests: XCTestCase {
    func testEveryValueKindAndNesting() throws {
        let text = """
        title = "Zählerraum ✓"
        count = -9223372036854775808
        big = 9223372036854775807
        ratio = 6.5e-3
        on = true
        off = false
        when = 2026-11-22T08:30:00Z
        day = 2026-11-22
        dotted.inner.leaf = 3
        inline = { a = 1, b = [1, 2, 3] }
        nested = [[1, 2], ["x"], []]

        [gateway]
        id = "gw-1"

        [[device]]
        id = "meter-1"
          [[device.point]]
          name = "flow"
          [[device.point]]
          name = "total"

        [[device]]
        id = "meter-2"
        """
        guard case .table(let root) = try TOMLDocument.parse(text) else { return XCTFail("root is not a table") }
        XCTAssertEqual(root["title"], .string("Zählerraum ✓"))
        XCTAssertEqual(root["count"], .integer(Int.min))
        XCTAssertEqual(root["big"], .integer(Int.max))
        XCTAssertEqual(root["ratio"], .double(6.5e-3))
        XCTAssertEqual(root["on"], .bool(true))
        XCTAssertEqual(root["off"], .bool(false))
        XCTAssertEqual(root["when"], .dateTime("2026-11-22T08:30:00Z"))
        XCTAssertEqual(root["day"], .dateTime("2026-11-22"))
        XCTAssertEqual(root["dotted"], .table(["inner": .table(["leaf": .integer(3)])]))
        XCTAssertEqual(root["inline"], .table(["a": .integer(1), "b": .array([.integer(1), .integer(2), .integer(3)])]))
        XCTAssertEqual(root["nested"], .array([.array([.integer(1), .integer(2)]), .array([.string("x")]), .array([])]))
        XCTAssertEqual(root["gateway"], .table(["id": .string("gw-1")]))
        XCTAssertEqual(root["device"], .array([
            .table(["id": .string("meter-1"), "point": .array([.table(["name": .string("flow")]), .table(["name": .string("total")])])]),
            .table(["id": .string("meter-2")]),
        ]))
        XCTAssertEqual(root.count, 13)
    }

    func testSpecialFloatsAndEmptyDocument() throws {
        guard case .table(let root) = try TOMLDocument.parse("a = inf\nb = -inf\nc = nan\n") else { return XCTFail("not a table") }
        XCTAssertEqual(root["a"], .double(.infinity))
        XCTAssertEqual(root["b"], .double(-.infinity))
        guard case .double(let c)? = root["c"] else { return XCTFail("nan is not a number") }
        XCTAssertTrue(c.isNaN)
        XCTAssertEqual(try TOMLDocument.parse(""), .table([:]))
    }

    func testSyntaxErrorCarriesLineAndColumn() {
        XCTAssertThrowsError(try TOMLDocument.parse("[gateway]\nid = \"gw\"\nport = 50 2\n")) { error in
            guard let syntax = error as? TOMLSyntaxError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(syntax.line, 3)
            XCTAssertGreaterThan(syntax.column, 1)
            XCTAssertFalse(syntax.message.isEmpty)
        }
        // A redefined table is a semantic error toml++ reports the same way.
        XCTAssertThrowsError(try TOMLDocument.parse("[a]\nx = 1\n[a]\ny = 2\n")) { error in
            XCTAssertEqual((error as? TOMLSyntaxError)?.line, 3)
        }
    }

    func testLongMessagesAreCutNotOverflowed() {
        let key = String(repeating: "k", count: 2_000)
        XCTAssertThrowsError(try TOMLDocument.parse("\(key) = \n")) { error in
            guard let syntax = error as? TOMLSyntaxError else { return XCTFail("unexpected \(error)") }
            XCTAssertLessThan(syntax.message.utf8.count, 480)
        }
    }
}
