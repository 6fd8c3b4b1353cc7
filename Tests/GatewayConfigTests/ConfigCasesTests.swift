import GatewayConfig
import GatewayModel
import XCTest

/// Telegraf-style case directories: `Cases/<name>/gatewayd.toml` with either
/// `expected.err` (the exact problem lines, the path written as `FILE`) or
/// `expected.show` (the effective configuration as `ConfigRenderer` writes it).
/// A file `purpose` containing `replay` reads the case for `detect --replay`.
///
/// Set GATEWAYD_UPDATE_CASES=1 to write the actual output over the expected
/// files (then review the diff); the test still fails so it cannot pass unseen.
final class ConfigCasesTests: XCTestCase {
    static let casesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Cases")

    func testEveryCase() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.casesDirectory.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertGreaterThan(names.count, 20, "the Cases folder is missing or nearly empty: \(Self.casesDirectory.path)")
        for name in names { try check(caseNamed: name) }
    }

    private func check(caseNamed name: String) throws {
        let dir = Self.casesDirectory.appendingPathComponent(name)
        let input = dir.appendingPathComponent("gatewayd.toml")
        let errFile = dir.appendingPathComponent("expected.err")
        let showFile = dir.appendingPathComponent("expected.show")
        let purposeText = (try? String(contentsOf: dir.appendingPathComponent("purpose"), encoding: .utf8)) ?? "gateway"
        let purpose: ConfigPurpose = purposeText.trimmingCharacters(in: .whitespacesAndNewlines) == "replay" ? .replay : .gateway
        let hasErr = FileManager.default.fileExists(atPath: errFile.path)
        let hasShow = FileManager.default.fileExists(atPath: showFile.path)
        XCTAssertTrue(hasErr != hasShow, "\(name): needs exactly one of expected.err and expected.show")

        let actual: String
        let expectedFile: URL
        do {
            let configuration = try ConfigReader.load(path: input.path, purpose: purpose)
            var copy = configuration
            copy.sourcePath = "FILE"
            actual = ConfigRenderer.render(copy)
            expectedFile = hasShow ? showFile : errFile
            if hasErr { XCTFail("\(name): expected problems, but the file was accepted") }
        } catch let problems as ConfigProblems {
            actual = problems.problems.map { p in
                var p = p
                p.file = "FILE"
                return p.description
            }.joined(separator: "\n") + "\n"
            expectedFile = hasErr ? errFile : showFile
            if hasShow { XCTFail("\(name): expected a valid configuration, got:\n\(actual)") }
        }
        let expected = (try? String(contentsOf: expectedFile, encoding: .utf8)) ?? ""
        if actual != expected {
            if ProcessInfo.processInfo.environment["GATEWAYD_UPDATE_CASES"] == "1" {
                try actual.write(to: expectedFile, atomically: true, encoding: .utf8)
            }
            XCTFail("\(name): output differs from \(expectedFile.lastPathComponent)\n--- expected\n\(expected)--- actual\n\(actual)")
        }
    }
}
