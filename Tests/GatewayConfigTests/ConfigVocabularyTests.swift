@testable import GatewayConfig
import GatewayModel
import XCTest

final class ConfigVocabularyTests: XCTestCase {
    func testAliasesNormaliseToCanonicalWords() {
        XCTAssertEqual(ConfigVocabulary.busType.canonical("TCP"), "modbus-tcp")
        XCTAssertEqual(ConfigVocabulary.busType.canonical("Modbus_RTU"), "modbus-rtu")
        XCTAssertEqual(ConfigVocabulary.busType.canonical("serial"), "serial-line")
        XCTAssertEqual(ConfigVocabulary.deviceKind.canonical("Water Meter"), "water_meter")
        XCTAssertEqual(ConfigVocabulary.deviceKind.canonical("parking-detector"), "parking_detector")
        XCTAssertEqual(ConfigVocabulary.registerTable.canonical("holding_registers"), "holding")
        XCTAssertEqual(ConfigVocabulary.registerTable.canonical("DI"), "discrete")
        XCTAssertEqual(ConfigVocabulary.pointType.canonical("Float"), "float32")
        XCTAssertEqual(ConfigVocabulary.pointType.canonical("double"), "float64")
        XCTAssertEqual(ConfigVocabulary.parity.canonical("E"), "even")
        XCTAssertEqual(ConfigVocabulary.replayOrder.canonical("LIVE_FIRST"), "live-first")
        XCTAssertNil(ConfigVocabulary.busType.canonical("modbus"))
        XCTAssertNil(ConfigVocabulary.pointType.canonical("int"))
    }

    func testEveryCanonicalWordIsAModelValue() {
        for vocabulary in ConfigVocabulary.allCases where vocabulary != .registerOrder {
            for word in vocabulary.words { XCTAssertEqual(vocabulary.canonical(word), word) }
        }
    }

    func testFourLetterOrdersSetWordAndByteOrder() {
        func order(_ raw: String, _ key: String = "byte_order") -> RegisterOrder {
            RegisterOrder(canonical: ConfigVocabulary.registerOrder.canonical(raw)!, writtenAs: key)
        }
        XCTAssertEqual(order("ABCD"), RegisterOrder(word: .big, byte: .big))
        XCTAssertEqual(order("cdab"), RegisterOrder(word: .little, byte: .big))
        XCTAssertEqual(order("BADC"), RegisterOrder(word: .big, byte: .little))
        XCTAssertEqual(order("DCBA", "word_order"), RegisterOrder(word: .little, byte: .little))
        XCTAssertEqual(order("little-endian", "word_order"), RegisterOrder(word: .little, byte: nil))
        XCTAssertEqual(order("BA"), RegisterOrder(word: nil, byte: .little))
    }

    func testRejectionSuggestsAndLists() {
        let message = ConfigVocabulary.pointType.rejection("flot32")
        XCTAssertTrue(message.hasPrefix("unknown point type \"flot32\" (did you mean \"float32\"?)"), message)
        XCTAssertTrue(message.contains("\"bool\""))
    }

    func testSpellingSuggestions() {
        XCTAssertEqual(Spelling.closest(to: "intervall", among: ConfigDocument.deviceKeys), "interval")
        XCTAssertEqual(Spelling.closest(to: "uint_id", among: ConfigDocument.deviceKeys), "unit_id")
        XCTAssertNil(Spelling.closest(to: "colour", among: ConfigDocument.pointKeys))
    }
}
