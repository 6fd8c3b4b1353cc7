import GatewayModel
import GatewayTestSupport
import ReplayInput
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class ReplayReaderTests: XCTestCase {
    var files: ReplayFiles!

    override func setUp() {
        files = ReplayFiles("replay-test")
    }

    override func tearDown() {
        files.remove()
    }

    let sample = "ts,device,point,value\n1514764800000,inflow,flow_m3h,162.700\n1514764800000,pressure-n1,pressure_m,28.48\n2018-01-01T00:05:00Z,inflow,flow_m3h,-1.5e2\n2018-01-01T01:10:00.250+01:00,inflow,flow_m3h,\n"

    func testPlainAndGzipReadTheSameRows() throws {
        let plain = try files.readAll(try files.write("a.csv", sample))
        let gz = try files.readAll(try files.write("a.csv.gz", sample, gzip: true))
        XCTAssertEqual(plain, gz)
        XCTAssertEqual(plain.count, 4)
        XCTAssertEqual(plain[0], ReplayRow(ts: 1_514_764_800_000, device: "inflow", point: "flow_m3h", value: 162.7, pairIndex: 0, line: 2))
        XCTAssertEqual(plain[1].pairIndex, 1)
        XCTAssertEqual(plain[2].ts, 1_514_765_100_000)
        XCTAssertEqual(plain[2].value, -150)
        XCTAssertEqual(plain[2].pairIndex, 0)
        XCTAssertEqual(plain[3].ts, 1_514_765_400_250, "01:10:00.250+01:00 is 00:10:00.250Z")
        XCTAssertNil(plain[3].value)
    }

    func testBadRowsNameFileAndLine() throws {
        let cases: [(String, Int, String)] = [
            ("ts,device,point,value\n1000,a,b,1\n900,a,b,2\n", 3, "out of time order"),
            ("ts,device,point,value\n1000,a,b\n", 2, "expected 4 fields"),
            ("ts,device,point,value\n1000,a,b,x1\n", 2, "not a number"),
            ("ts,device,point,value\nyesterday,a,b,1\n", 2, "RFC 3339"),
            ("ts,device,point,value\n2018-01-01T00:00:00,a,b,1\n", 2, "RFC 3339"),
            ("ts,device,point,value\n1000,,b,1\n", 2, "device is empty"),
            ("time,device,point,value\n", 1, "expected ts,device,point,value"),
        ]
        for (n, (text, line, phrase)) in cases.enumerated() {
            let path = try files.write("bad\(n).csv", text)
            XCTAssertThrowsError(try files.readAll(path)) { error in
                let e = error as? ReplayInputError
                XCTAssertEqual(e?.line, line, text)
                XCTAssertTrue(e?.description.hasPrefix("\(path):\(line): ") ?? false)
                XCTAssertTrue(e?.message.contains(phrase) ?? false, "\(String(describing: e)) should say \(phrase)")
            }
        }
        XCTAssertThrowsError(try ReplayReader(path: files.directory + "/absent.csv")) { error in
            XCTAssertTrue("\(error)".contains("cannot open"))
        }
    }

    func testReplayRunPrintsJSONLines() throws {
        var text = "ts,device,point,value\n"
        for i in 0..<10 { text += "\(1_514_764_800_000 + Int64(i) * 60_000),tank,level_m,\(i == 5 ? 9.5 : 2.0)\n" }
        let path = try files.write("run.csv.gz", text, gzip: true)
        var lines: [String] = []
        let summary = try ReplayRun.run(csvPath: path, detectors: [
            DetectorConfiguration(type: "range", device: "tank", point: "level_m", parameters: ["max": .integer(8)]),
            DetectorConfiguration(type: "range", device: "absent", point: "x", parameters: ["max": .integer(8)]),
        ]) { lines.append($0) }
        XCTAssertEqual(summary.rows, 10)
        XCTAssertEqual(summary.raised, 1)
        XCTAssertEqual(summary.cleared, 1)
        XCTAssertEqual(summary.unresolvedDetectors, ["range on absent/x"])
        XCTAssertEqual(lines.count, 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(first["ts"] as? Int64, 1_514_765_100_000)
        XCTAssertEqual(first["device"] as? String, "tank")
        XCTAssertEqual(first["point"] as? String, "level_m")
        XCTAssertEqual(first["type"] as? String, "range")
        XCTAssertEqual(first["state"] as? String, "raised")
        XCTAssertEqual(first["value"] as? Double, 9.5)
        XCTAssertEqual(first["id"] as? String, "range:tank:level_m")
        XCTAssertEqual(first["severity"] as? String, "warning")
        XCTAssertNotNil(first["message"] as? String)
    }
}
