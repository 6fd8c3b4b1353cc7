@testable import GatewayConfig
import XCTest

/// Bad input gets problems, never a crash: mangled copies of the shipped
/// examples must either parse or throw `ConfigProblems` with located lines.
final class MalformedInputTests: XCTestCase {
    func testMangledExamplesNeverCrash() throws {
        var generator = SplitMix64(seed: 0x6761_7465)
        let fragments = ["=", "[", "]", "[[", "\"", "'", "{", "}", ",", "#", "\n", ".", "-1", "1e99", "\"\"\"", "x = 1", "[[device.point]]", "é", "\t"]
        for url in try ConfigExamplesTests.exampleFiles() {
            let original = Array(try String(contentsOf: url, encoding: .utf8))
            for _ in 0..<60 {
                var text = original
                for _ in 0..<Int(generator.next() % 4 + 1) {
                    let at = Int(generator.next() % UInt64(text.count + 1))
                    switch generator.next() % 3 {
                    case 0: text.insert(contentsOf: fragments[Int(generator.next() % UInt64(fragments.count))], at: at)
                    case 1: if at < text.count { text.remove(at: at) }
                    default: text = Array(text[..<at])
                    }
                }
                let mangled = String(text)
                // The index must cope with any text, not only text toml++ accepted.
                _ = KeyLineIndex(text: mangled)
                do {
                    _ = try ConfigReader.parse(text: mangled, path: "m.toml")
                } catch let problems as ConfigProblems {
                    XCTAssertFalse(problems.problems.isEmpty)
                    for p in problems.problems { XCTAssertGreaterThanOrEqual(p.line, 1, p.description) }
                }
            }
        }
    }
}

/// A small deterministic generator so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
