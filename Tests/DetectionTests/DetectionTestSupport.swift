import Detection
import GatewayModel
import XCTest

/// Builds an engine over one point (id 0) and feeds series into it.
struct SinglePointRun {
    let engine: DetectionEngine
    var transitions: [AlarmTransition] = []

    init(_ type: String, point: String = "value", _ parameters: [String: ConfigScalar] = [:], file: StaticString = #filePath, line: UInt = #line) {
        let catalog = PointCatalog([PointDescriptor(id: 0, device: "dev", deviceKind: .generic, point: point, unit: "")])
        do {
            engine = try DetectionEngine(detectors: [DetectorConfiguration(type: type, device: "dev", point: point, parameters: parameters)], catalog: catalog)
        } catch {
            XCTFail("engine rejected the configuration: \(error)", file: file, line: line)
            engine = try! DetectionEngine(detectors: [], catalog: catalog)
        }
    }

    mutating func feed(_ ts: Int64, _ value: Double?, quality: Quality = .good) {
        transitions += engine.observe(pointID: 0, timestampMilliseconds: ts, value: value, quality: value == nil && quality == .good ? .commError : quality)
    }

    var raised: [AlarmTransition] { transitions.filter { $0.state == .raised } }
    var cleared: [AlarmTransition] { transitions.filter { $0.state == .cleared } }
}

let minute: Int64 = 60_000
let hour: Int64 = 3_600_000
let day: Int64 = 86_400_000
/// 2018-01-01T00:00:00Z, a Monday.
let jan1: Int64 = 1_514_764_800_000

/// Deterministic noise in [-1, 1] (a linear congruential generator), so tests need no randomness.
struct Noise {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
}
