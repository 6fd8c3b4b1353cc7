import BufferStore
import Detection
import Drivers
import Foundation
import GatewayModel
import Logging

/// A simulated plant for in-process suites: `devices` Modbus devices of 20
/// points each (float32 in both word orders, uint16, int32, int16), all in one
/// holding block, with plausible raw registers.
struct SimulatedPlant {
    static let pointsPerDevice = 20
    var devices: [DeviceConfiguration]
    var registers: [[UInt16]]

    init(devices count: Int, bus: String = "plant") {
        var devices: [DeviceConfiguration] = []
        var registers: [[UInt16]] = []
        for d in 0..<count {
            var points: [PointConfiguration] = []
            var words: [UInt16] = []
            for p in 0..<SimulatedPlant.pointsPerDevice {
                let address = words.count
                switch p % 5 {
                case 0, 1:  // float32 ABCD
                    points.append(PointConfiguration(name: "p\(p)", address: address, type: .float32, unit: "m3/h"))
                    let bits = Float(10 + Double(d) + Double(p) / 10).bitPattern
                    words += [UInt16(bits >> 16), UInt16(bits & 0xFFFF)]
                case 2:  // float32 CDAB
                    points.append(PointConfiguration(name: "p\(p)", address: address, type: .float32, wordOrder: .little, unit: "bar"))
                    let bits = Float(3.5 + Double(p) / 100).bitPattern
                    words += [UInt16(bits & 0xFFFF), UInt16(bits >> 16)]
                case 3:  // uint16 scaled
                    points.append(PointConfiguration(name: "p\(p)", address: address, type: .uint16, scale: 0.1, unit: "degC"))
                    words.append(UInt16(215 + p))
                default:  // int32 counter
                    points.append(PointConfiguration(name: "p\(p)", address: address, type: .int32, unit: "L"))
                    words += [0, UInt16(1000 + p)]
                }
            }
            devices.append(DeviceConfiguration(id: "meter-\(String(format: "%03d", d + 1))", bus: bus, unitID: d + 1,
                                               kind: .waterMeter, interval: .seconds(1), points: points))
            registers.append(words)
        }
        self.devices = devices
        self.registers = registers
    }

    var registrations: [PointRegistration] {
        devices.flatMap { d in d.points.map { PointRegistration(device: d.id, deviceKind: d.kind, point: $0.name, unit: $0.unit) } }
    }

    /// A detector on every device's first two points: what a utility would watch.
    var detectors: [DetectorConfiguration] {
        devices.flatMap { d in [
            DetectorConfiguration(type: "range", device: d.id, point: "p0", parameters: ["min": .double(0), "max": .double(1000)]),
            DetectorConfiguration(type: "spike", device: d.id, point: "p1"),
        ] }
    }
}

/// The store writer's observer in these suites: what the daemon's
/// `CommitRouter` does (detection over every committed reading), plus counting.
final class CountingCommitObserver: CommitObserver, @unchecked Sendable {
    // Invariant: `detection` is used on the writer thread only; counters guarded by `lock`.
    private let detection: DetectionEngine?
    private weak var store: BufferStore?
    private let lock = NSLock()
    private var committed = 0
    private var alarms = 0
    var onCommit: (([StoredRecord]) -> Void)?

    init(detection: DetectionEngine?, store: BufferStore) {
        self.detection = detection
        self.store = store
    }

    func didCommit(_ records: [StoredRecord]) {
        var raised = 0
        if let detection {
            for r in records where r.kind != .alarm {
                for a in detection.observe(pointID: r.pointID, timestampMilliseconds: r.timestampMilliseconds, value: r.value, quality: r.quality) {
                    store?.submit(alarm: a)
                    raised += 1
                }
            }
        }
        onCommit?(records)
        lock.lock()
        committed += records.count
        alarms += raised
        lock.unlock()
    }

    func didRecordGap(_ gap: StoredGap) {}

    var committedCount: Int { lock.lock(); defer { lock.unlock() }; return committed }
}

/// Raw registers → decode → store (group commits) → detection, in process.
enum DecodeStoreBench {
    static func run(readings total: Int, repeats: Int, logger: Logger) throws -> [Figure] {
        let plant = SimulatedPlant(devices: 100)
        var rates: [Double] = []
        var costs: [Double] = []
        var groups: [Double] = []
        for _ in 0..<repeats {
            let dir = Scratch.directory("decode-store")
            let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: BufferSettings(), logger: logger)
            let catalog = try store.registerPoints(plant.registrations)
            let detection = try DetectionEngine(detectors: plant.detectors, catalog: catalog)
            let observer = CountingCommitObserver(detection: detection, store: store)
            store.start(observer: observer)
            let maps = plant.devices.map { DeviceReadMap(points: $0.points) }
            let ids = plant.devices.map { d in d.points.map { catalog.id(device: d.id, point: $0.name)! } }
            var registers = plant.registers
            let polls = max(1, total / (plant.devices.count * SimulatedPlant.pointsPerDevice))
            let count = polls * plant.devices.count * SimulatedPlant.pointsPerDevice

            let cpu0 = processCPUMilliseconds()
            let t0 = monotonicSeconds()
            var ts: Int64 = SystemClock().wallMilliseconds()
            for poll in 0..<polls {
                ts += 1000
                for d in 0..<plant.devices.count {
                    // Values move a little every poll, as real ones do.
                    registers[d][1] = UInt16(truncatingIfNeeded: poll)
                    var readings: [Reading] = []
                    readings.reserveCapacity(SimulatedPlant.pointsPerDevice)
                    registers[d].withUnsafeBufferPointer { words in
                        maps[d].appendReadings(block: 0, words: words, pointIDs: ids[d], timestampMilliseconds: ts,
                                               quality: .good, into: &readings)
                    }
                    store.submit(readings: readings)
                }
            }
            try store.waitCommitted(through: UInt64(count))
            let seconds = monotonicSeconds() - t0
            let cpu = processCPUMilliseconds() - cpu0
            let stats = store.statistics()
            store.stop()
            guard observer.committedCount >= count else {
                throw BenchFailure("decode+store: only \(observer.committedCount) of \(count) readings committed")
            }
            rates.append(Double(count) / seconds)
            costs.append(cpu / Double(count) * 1000)
            groups.append(Double(stats.recordsCommitted) / Double(max(1, stats.commitGroups)))
            try? FileManager.default.removeItem(atPath: dir)
        }
        let note = "\(total) readings of 100 devices × 20 points, 200 detectors; BufferSettings defaults (durability normal)"
        return [
            Figure(suite: "decode+store", name: "throughput", unit: "readings/s", runs: rates, target: 500_000, note: note),
            Figure(suite: "decode+store", name: "CPU per 1000 readings", unit: "ms", runs: costs, target: 44.0 / 5, higherIsBetter: false,
                   note: "all threads of the process; target: a fifth of collectd's 44 ms"),
            Figure(suite: "decode+store", name: "records per commit group", unit: "records", runs: groups),
        ]
    }
}
