import Detection
import GatewayModel
import GatewayTestSupport
import ReplayInput
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The replay reader's own number parsing and its one-pass path for the common
/// line shape must give exactly what `Double(String)` and the general path give.
final class ReplayParsingTests: XCTestCase {
    var files: ReplayFiles!

    override func setUp() {
        files = ReplayFiles("replay-parse")
    }

    override func tearDown() {
        files.remove()
    }

    /// Value fields and what they must read as: `Double(String)` of the trimmed text, to the bit.
    var valueFields: [String] {
        var fields = [
            "0", "-0", "-0.0", "+5", "162.700", "28.48", "0.1", "0.3", "-1.5e2", "1E-3", "2.5e+3",
            "123456789012345", "1234567890123456", "12345678901234567890", "9007199254740993",
            "0.1234567890123456789", "3.141592653589793238462643383279", "0.0000000000000000000000001",
            "0.0000000000000000000001", "1.", ".5", "-.5", "00012.5", "000000000000000000000000000007.5",
            "1e308", "4.9e-324", "2.2250738585072014e-308", "179769313486231570000000000000000000000",
            " 7.25", "7.25 ", "  -3.5  ",
        ]
        // Decimals of every length and scale, as loggers write them.
        var noise = Noise(seed: 8)
        for _ in 0..<3000 {
            let digits = 1 + Int((noise.next() + 1) * 9.5)
            var text = ""
            for _ in 0..<digits { text += String(Int((noise.next() + 1) * 4.999)) }
            let dot = Int((noise.next() + 1) * Double(digits) / 2)
            if dot < digits { text.insert(".", at: text.index(text.startIndex, offsetBy: dot)) }
            fields.append(noise.next() < -0.5 ? "-" + text : text)
        }
        return fields
    }

    func expected(_ field: String) -> Double? {
        Double(field.trimmingCharacters(in: .whitespaces))
    }

    func testValuesEqualDoubleParsingOnBothPaths() throws {
        let fields = valueFields
        var common = "ts,device,point,value\n"
        var extra = "ts,device,point,value,quality\n"
        for (i, f) in fields.enumerated() {
            common += "\(1_000 + i),dev,p,\(f)\n"
            extra += "\(1_000 + i),dev,p,\(f),good\n"
        }
        let viaCommon = try files.readAll(try files.write("common.csv", common))
        let viaGeneral = try files.readAll(try files.write("extra.csv", extra))
        XCTAssertEqual(viaCommon.count, fields.count)
        XCTAssertEqual(viaGeneral.count, fields.count)
        for (i, f) in fields.enumerated() {
            guard let want = expected(f) else { XCTFail("\(f) is not a test number"); continue }
            XCTAssertEqual(viaCommon[i].value?.bitPattern, want.bitPattern, "\"\(f)\"")
            XCTAssertEqual(viaGeneral[i].value?.bitPattern, want.bitPattern, "\"\(f)\" (general path)")
        }
    }

    func testNonNumbersAreRefusedWithTheLine() throws {
        for field in ["nan", "NaN", "inf", "-inf", "1e999", "x1", "1.2.3", "-", ".", "1e", "1,5", "0x", "--1", "1 2"] {
            let path = try files.write("bad.csv", "ts,device,point,value\n1000,dev,p,1\n1001,dev,p,\(field)\n")
            XCTAssertThrowsError(try files.readAll(path), field) { error in
                let e = error as? ReplayInputError
                XCTAssertEqual(e?.line, 3, field)
                let phrase = field == "1,5" ? "expected 4 fields" : "is not a number"
                XCTAssertTrue(e?.message.contains(phrase) ?? false, "\(field): \(String(describing: e))")
            }
        }
    }

    func testEmptyValueIsNoReading() throws {
        let rows = try files.readAll(try files.write("empty.csv", "ts,device,point,value\n1000,dev,p,\n1001,dev,p,2\n1002,dev,p,\r\n"))
        XCTAssertEqual(rows.map(\.value), [nil, 2, nil])
    }

    func testPairsAreNumberedByFirstAppearanceWhateverTheOrder() throws {
        // Names that are prefixes of each other, an order that changes, a pair that appears late.
        let text = """
        ts,device,point,value
        1,p,v,1
        1,p,vv,2
        1,pp,v,3
        2,p,v,4
        2,p,vv,5
        2,pp,v,6
        3,pp,v,7
        3,p,vv,8
        3,p,v,9
        3,q,v,10
        4,p,v,11
        4,p,vv,12
        4,pp,v,13
        4,q,v,14

        """
        let rows = try files.readAll(try files.write("pairs.csv", text))
        XCTAssertEqual(rows.map(\.pairIndex), [0, 1, 2, 0, 1, 2, 2, 1, 0, 3, 0, 1, 2, 3])
        XCTAssertEqual(rows.map { "\($0.device)/\($0.point)" },
                       ["p/v", "p/vv", "pp/v", "p/v", "p/vv", "pp/v", "pp/v", "p/vv", "p/v", "q/v", "p/v", "p/vv", "pp/v", "q/v"])
        XCTAssertEqual(rows.map(\.line), Array(2...15))
    }

    func testTimestampsOutsideTheCommonShape() throws {
        let text = """
        ts,device,point,value
        -5,dev,p,1
        0,dev,p,2
        2018-01-01T00:00:00Z,dev,p,3
         1514764800001 ,dev,p,4
        1514764800002,dev,p,5

        """
        let rows = try files.readAll(try files.write("ts.csv", text))
        XCTAssertEqual(rows.map(\.ts), [-5, 0, 1_514_764_800_000, 1_514_764_800_001, 1_514_764_800_002])
        XCTAssertThrowsError(try files.readAll(try files.write("big.csv", "ts,device,point,value\n99999999999999999999,dev,p,1\n"))) { error in
            XCTAssertTrue("\(error)".contains("neither epoch milliseconds"), "\(error)")
        }
        XCTAssertThrowsError(try files.readAll(try files.write("order.csv", "ts,device,point,value\n1000,dev,p,1\n999,dev,p,1\n"))) { error in
            XCTAssertEqual((error as? ReplayInputError)?.line, 3)
            XCTAssertTrue("\(error)".contains("out of time order"), "\(error)")
        }
    }

    /// `ReplayRun` reads on a thread of its own, in batches: the alarms must be
    /// those of the same engine fed row by row, and a bad row after many
    /// batches must still stop it with its line.
    func testThreadedRunMatchesRowByRowDetection() throws {
        var text = "ts,device,point,value\n"
        var noise = Noise(seed: 3)
        let rowsPerPoint = 30_000
        for i in 0..<rowsPerPoint {
            for point in ["a", "b", "c"] {
                let v = 5 + 4 * noise.next()
                text += "\(1_514_764_800_000 + Int64(i) * 10_000),tank-\(point),level_m,\(i % 997 == 0 ? "" : String(format: "%.3f", v))\n"
            }
        }
        let path = try files.write("many.csv", text)
        let detectors = ["a", "b", "c"].map {
            DetectorConfiguration(type: "range", device: "tank-\($0)", point: "level_m", parameters: ["max": .double(8.5), "min": .double(1.5)])
        }
        var threaded: [String] = []
        let summary = try ReplayRun.run(csvPath: path, detectors: detectors) { threaded.append($0) }
        XCTAssertEqual(summary.rows, 3 * rowsPerPoint)
        XCTAssertEqual(summary.points, 3)

        let engine = try DetectionEngine(detectors: detectors, catalog: PointCatalog([]))
        var reader = try ReplayReader(path: path)
        var names: [(String, String)] = []
        var sequential: [String] = []
        while let row = try reader.next() {
            if row.pairIndex == names.count {
                names.append((row.device, row.point))
                engine.resolve(pointID: PointID(row.pairIndex), device: row.device, point: row.point)
            }
            for t in engine.observe(pointID: PointID(row.pairIndex), timestampMilliseconds: row.ts, value: row.value,
                                    quality: row.value == nil ? .commError : .good) {
                let name = names[Int(t.pointID)]
                sequential.append(ReplayRun.jsonLine(t, device: name.0, point: name.1))
            }
        }
        XCTAssertGreaterThan(sequential.count, 10, "the series should cross the range now and then")
        XCTAssertEqual(threaded, sequential)

        let broken = try files.write("broken.csv", text + "\(1_514_764_800_000 + Int64(rowsPerPoint) * 10_000),tank-a,level_m,seven\n")
        var before: [String] = []
        XCTAssertThrowsError(try ReplayRun.run(csvPath: broken, detectors: detectors) { before.append($0) }) { error in
            XCTAssertEqual((error as? ReplayInputError)?.line, 3 * rowsPerPoint + 2)
        }
        XCTAssertEqual(before, sequential, "every alarm before the bad row is written")
    }
}
