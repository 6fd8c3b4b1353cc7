import BufferStore
import Drivers
import Foundation
import GatewayModel
import Logging
import Uplink

#if canImport(Glibc)
import Glibc
#endif

/// Counts what a bus delivers.
final class CountingSink: ReadingSink, @unchecked Sendable {
    // Invariant: counters guarded by `lock`; `forward` set before the bus starts.
    private let lock = NSLock()
    private(set) var polls = 0
    private(set) var goodPolls = 0
    var forward: ((DeviceEvent) -> Void)?

    func deliver(readings: [Reading]) {
        lock.lock()
        polls += 1
        if readings.allSatisfy({ $0.quality != .commError }) { goodPolls += 1 }
        lock.unlock()
    }

    func deliver(event: DeviceEvent) { forward?(event) }

    var counts: (polls: Int, good: Int) { lock.lock(); defer { lock.unlock() }; return (polls, goodPolls) }
}

/// The serial side: a 9600-baud RTU line and the parking detector frame path.
enum LineBench {
    /// One poll's time on a real line: request + response bytes at 11 bits each, and a 3.5-character silence after each frame.
    static func physicalPollSeconds(registers: Int, baud: Int) -> Double {
        let requestBytes = 8.0
        let responseBytes = 5.0 + 2.0 * Double(registers)
        let charSeconds = 11.0 / Double(baud)
        return (requestBytes + responseBytes + 2 * 3.5) * charSeconds
    }

    static func rtu(programs: Programs, devices: Int, seconds: Double, repeats: Int, logger: Logger) throws -> [Figure] {
        var achieved: [Double] = []
        let registers = 10
        let limit = 1 / physicalPollSeconds(registers: registers, baud: 9600)
        for _ in 0..<repeats {
            let dir = Scratch.directory("rtu")
            let link = dir + "/ttyRTU"
            let units = (1...devices).map { "\($0)=pattern" }.joined(separator: ",")
            let sim = try ChildProgram(programs.gatewaySim, ["modbus", "--rtu-pty", link, "--units", units])
            defer { sim.terminate() }
            guard sim.waitForLine(containing: "ready", timeout: 20) != nil else { throw BenchFailure("gateway-sim (RTU) did not start: \(sim.output)") }
            let bus = BusConfiguration(name: "rs485-bench", type: .modbusRTU, device: link, baud: 9600, timeout: .milliseconds(500), rs485: false)
            // Intervals far shorter than the line allows: the bus runs back to back, as fast as the line answers.
            let busDevices = (1...devices).map { u in
                BusDevice(configuration: DeviceConfiguration(id: "u\(u)", bus: bus.name, unitID: u, interval: .milliseconds(10),
                                                             points: (0..<5).map { PointConfiguration(name: "f\($0)", address: 2 * $0, type: .float32) }),
                          pointIDs: (0..<5).map { PointID(u * 10 + $0) })
            }
            let sink = CountingSink()
            let fieldBus = FieldBus(configuration: bus, devices: busDevices, sink: sink, clock: SystemClock(), logger: logger)
            fieldBus.start()
            Thread.sleep(forTimeInterval: 0.5)
            let p0 = sink.counts.good
            let t0 = monotonicSeconds()
            Thread.sleep(forTimeInterval: seconds)
            let p1 = sink.counts.good
            let elapsed = monotonicSeconds() - t0
            fieldBus.stop()
            guard p1 > p0 else { throw BenchFailure("RTU: no good poll on the pseudo-terminal line (\(sim.output))") }
            achieved.append(Double(p1 - p0) / elapsed)
        }
        let note = "\(devices) units × 5 float32 (one 10-register read each); line limit \(String(format: "%.1f", limit)) polls/s at 9600 baud "
            + "(33 frame bytes × 11 bits + 2 × 3.5-char silences = \(String(format: "%.1f", physicalPollSeconds(registers: registers, baud: 9600) * 1000)) ms); "
            + "a pseudo-terminal carries bytes without baud timing, so this is the software ceiling"
        return [
            Figure(suite: "serial RTU", name: "polls achieved (pty, no baud timing)", unit: "polls/s", runs: achieved, target: limit, note: note),
            Figure(suite: "serial RTU", name: "share of the 9600-baud line's limit", unit: "× limit", runs: achieved.map { $0 / limit }, target: 1),
        ]
    }

    /// A parking frame written to a pseudo-terminal → serial-line bus → store commit → uplink → mosquitto PUBACK.
    static func parking(frames: Int, repeats: Int, logger: Logger) throws -> [Figure] {
        var toCommit: [Double] = [], toAck: [Double] = []
        for _ in 0..<repeats {
            let dir = Scratch.directory("parking")
            let broker = try LocalBroker(directory: dir)
            defer { broker.stop() }
            var master: Int32 = -1, slave: Int32 = -1
            var name = [CChar](repeating: 0, count: 128)
            guard openpty(&master, &slave, &name, nil, nil) == 0 else { throw BenchFailure("openpty failed: errno \(errno)") }
            defer { close(master); close(slave) }
            var raw = termios()
            tcgetattr(slave, &raw)
            cfmakeraw(&raw)
            tcsetattr(slave, TCSANOW, &raw)
            let path = String(cString: name)

            let bus = BusConfiguration(name: "parking-bench", type: .serialLine, device: path, baud: 9600, rs485: false,
                                       lineProtocol: .parking, debounce: .zero, heartbeatTimeout: .seconds(900))
            let device = DeviceConfiguration(id: "bay-a-001", bus: bus.name, kind: .parkingDetector, interval: .seconds(10), bay: "A-001")
            let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: BufferSettings(), logger: logger)
            let catalog = try store.registerPoints(ParkingPoints.points.map {
                PointRegistration(device: device.id, deviceKind: .parkingDetector, point: $0.name, unit: $0.unit)
            })
            let ids = ParkingPoints.points.map { catalog.id(device: device.id, point: $0.name)! }
            guard let address = BrokerAddress(url: broker.url) else { throw BenchFailure("bad broker url") }
            let backlog = CountingBacklog(reader: try BufferReader(path: dir + "/buffer.sqlite"), store: store)
            let uplink = Uplink(settings: UplinkSettings(broker: address, topicPrefix: "bench", clientID: "gw-bench-parking"),
                                gatewayID: "gw-bench", storeID: store.storeID, version: "bench", catalog: catalog,
                                backlog: backlog, ledger: backlog, initialBacklogThrough: 0, logger: logger)
            let timing = EventTiming()
            let observer = CountingCommitObserver(detection: nil, store: store)
            observer.onCommit = { records in
                let now = monotonicSeconds()
                for r in records where r.kind == .event { timing.committed(seq: r.seq, at: now) }
                uplink.offer(records)
            }
            backlog.onDelivered = { seqs in
                let now = monotonicSeconds()
                for s in seqs { timing.acknowledged(seq: s, at: now) }
            }
            store.start(observer: observer)
            try uplink.start()
            let sink = CountingSink()
            sink.forward = { event in store.submit(event: event, point: catalog[event.pointID]?.point ?? "") }
            let fieldBus = FieldBus(configuration: bus, devices: [BusDevice(configuration: device, pointIDs: ids)], sink: sink,
                                    clock: SystemClock(), logger: logger)
            fieldBus.start()
            Thread.sleep(forTimeInterval: 1)  // the uplink connects, the bus opens its port

            var written: [Double] = []
            for k in 0..<frames {
                let body = "PKD,A-001,\(k % 2 == 0 ? 1 : 0),3600,\(k)"
                let sum = body.utf8.reduce(UInt8(0), ^)
                let frame = "$\(body)*\(String(format: "%02X", sum))\r\n"
                written.append(monotonicSeconds())
                _ = frame.withCString { write(master, $0, strlen($0)) }
                Thread.sleep(forTimeInterval: 0.1)
            }
            Thread.sleep(forTimeInterval: 1)
            fieldBus.stop()
            uplink.stop(drainTimeout: .seconds(2))
            store.stop()
            let (commits, acks) = timing.snapshot()
            // Every frame changes the bay's state (debounce 0): the k-th event is the k-th frame.
            guard commits.count == frames else {
                throw BenchFailure("parking: \(frames) state changes written, \(commits.count) events committed")
            }
            for (k, t) in commits.enumerated() { toCommit.append((t - written[k]) * 1000) }
            for (k, t) in acks.prefix(frames).enumerated() { toAck.append((t - written[k]) * 1000) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let note = "\(frames) $PKD frames per run on a pseudo-terminal, debounce 0; per-frame values over \(repeats) runs"
        return [
            Figure(suite: "parking", name: "frame → store commit", unit: "ms", runs: toCommit, higherIsBetter: false, note: note),
            Figure(suite: "parking", name: "frame → PUBACK (marked sent)", unit: "ms", runs: toAck, higherIsBetter: false, note: note),
        ]
    }
}

/// When each event was committed and acknowledged, by seq.
final class EventTiming: @unchecked Sendable {
    // Invariant: guarded by `lock`.
    private let lock = NSLock()
    private var commits: [(UInt64, Double)] = []
    private var acks: [UInt64: Double] = [:]

    func committed(seq: UInt64, at t: Double) { lock.lock(); commits.append((seq, t)); lock.unlock() }
    func acknowledged(seq: UInt64, at t: Double) { lock.lock(); acks[seq] = t; lock.unlock() }

    /// Commit times in seq order, and the acknowledgement times of those events that got one.
    func snapshot() -> (commits: [Double], acks: [Double]) {
        lock.lock(); defer { lock.unlock() }
        let sorted = commits.sorted { $0.0 < $1.0 }
        return (sorted.map(\.1), sorted.compactMap { acks[$0.0] })
    }
}
