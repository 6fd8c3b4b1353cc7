import Foundation
import GatewayTestSupport
import ReplayInput
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Replay CSV files in a scratch directory, and reading them back whole: the
/// fixture of the replay reader's tests.
struct ReplayFiles {
    let directory: String

    init(_ label: String) {
        directory = TestPaths.temporaryDirectory(label)
    }

    func remove() {
        _ = try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ name: String, _ text: String, gzip: Bool = false) throws -> String {
        let path = directory + "/" + name
        if gzip {
            // gzip through the gzip tool: independent of the reader's zlib use.
            let plain = path + ".plain"
            try text.write(toFile: plain, atomically: true, encoding: .utf8)
            XCTAssertEqual(system("gzip -c '\(plain)' > '\(path)'"), 0)
        } else {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return path
    }

    func readAll(_ path: String) throws -> [ReplayRow] {
        var reader = try ReplayReader(path: path)
        var rows: [ReplayRow] = []
        while let row = try reader.next() { rows.append(row) }
        return rows
    }
}
