import BufferStore
import Foundation
import GatewayModel
import Logging
import Uplink

/// The store seen from the uplink (as the daemon wires it), counting PUBACKed records.
final class CountingBacklog: UplinkBacklog, UplinkLedger, @unchecked Sendable {
    // Invariant: `reader` is used only on the uplink thread; counters guarded by `lock`.
    private let reader: BufferReader
    private let store: BufferStore
    private let lock = NSCondition()
    private var delivered = 0
    var onDelivered: (([UInt64]) -> Void)?

    init(reader: BufferReader, store: BufferStore) {
        self.reader = reader
        self.store = store
    }

    func pendingRecords(afterSeq: UInt64, throughSeq: UInt64, limit: Int) throws -> [StoredRecord] {
        try reader.pendingRecords(afterSeq: afterSeq, throughSeq: throughSeq, limit: limit)
    }
    func records(from: UInt64, to: UInt64, limit: Int) throws -> [StoredRecord] { try reader.records(from: from, to: to, limit: limit) }
    func unannouncedGaps() throws -> [StoredGap] { try reader.unannouncedGaps() }
    func lastSeq() throws -> UInt64 { try reader.lastSeq() }

    func markDelivered(_ seqs: [UInt64]) {
        onDelivered?(seqs)
        store.markDelivered(seqs)
        lock.lock()
        delivered += seqs.count
        lock.broadcast()
        lock.unlock()
    }

    func markGapsAnnounced(_ ids: [Int64]) { store.markGapsAnnounced(ids) }

    /// Waits until at least `count` records were acknowledged; false on timeout.
    func waitDelivered(_ count: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while delivered < count { if !lock.wait(until: deadline) { return delivered >= count } }
        return true
    }

    var deliveredCount: Int { lock.lock(); defer { lock.unlock() }; return delivered }
}

/// A backlog of buffered readings → real mosquitto → PUBACK → marked sent.
enum DrainBench {
    static func run(readings total: Int, repeats: Int, logger: Logger) throws -> [Figure] {
        let plant = SimulatedPlant(devices: 100)
        var readingRates: [Double] = []
        var messageRates: [Double] = []
        var costs: [Double] = []
        for _ in 0..<repeats {
            let dir = Scratch.directory("drain")
            let broker = try LocalBroker(directory: dir)
            defer { broker.stop() }
            let path = dir + "/buffer.sqlite"

            // The backlog, written by the store's own writer.
            let store = try BufferStore.open(path: path, settings: BufferSettings(), logger: logger)
            let catalog = try store.registerPoints(plant.registrations)
            store.start(observer: nil)
            let ids = plant.devices.map { d in d.points.map { catalog.id(device: d.id, point: $0.name)! } }
            var written = 0
            var ts: Int64 = SystemClock().wallMilliseconds()
            while written < total {
                ts += 1000
                for d in 0..<plant.devices.count where written < total {
                    let n = min(SimulatedPlant.pointsPerDevice, total - written)
                    store.submit(readings: (0..<n).map { Reading(pointID: ids[d][$0], timestampMilliseconds: ts, value: Double($0) + 0.5, quality: .good) })
                    written += n
                }
            }
            try store.waitCommitted(through: UInt64(total))
            let lastSeq = store.statistics().lastSeq

            let backlog = CountingBacklog(reader: try BufferReader(path: path), store: store)
            guard let address = BrokerAddress(url: broker.url) else { throw BenchFailure("bad broker url \(broker.url)") }
            let settings = UplinkSettings(broker: address, topicPrefix: "bench", clientID: "gw-bench-drain", replayRateReadingsPerSecond: 0)
            let uplink = Uplink(settings: settings, gatewayID: "gw-bench", storeID: store.storeID, version: "bench",
                                catalog: catalog, backlog: backlog, ledger: backlog, initialBacklogThrough: lastSeq,
                                logger: logger)
            let cpu0 = processCPUMilliseconds()
            let broker0 = ProcessProbe(pid: broker.pid).cpuMilliseconds() ?? 0
            let t0 = monotonicSeconds()
            try uplink.start()
            guard backlog.waitDelivered(total, timeout: 600) else {
                throw BenchFailure("drain: only \(backlog.deliveredCount) of \(total) readings acknowledged within 600 s")
            }
            store.flushAndWait()  // the last acknowledgements are marked sent
            let seconds = monotonicSeconds() - t0
            let cpu = processCPUMilliseconds() - cpu0
            let brokerCPU = (ProcessProbe(pid: broker.pid).cpuMilliseconds() ?? 0) - broker0
            let messages = uplink.status().messagesPublished
            uplink.stop(drainTimeout: .seconds(1))
            store.stop()
            let pending = try BufferReader(path: path).stats().pendingRecords
            guard pending == 0 else { throw BenchFailure("drain: \(pending) readings still pending after every PUBACK") }
            readingRates.append(Double(total) / seconds)
            messageRates.append(Double(messages) / seconds)
            costs.append(cpu / Double(total) * 1000)
            _ = brokerCPU
            try? FileManager.default.removeItem(atPath: dir)
        }
        let note = "\(total) buffered readings, replay_rate = 0, batch_max_readings 500, max_inflight 64, loopback mosquitto"
        return [
            Figure(suite: "drain", name: "backlog drain", unit: "readings/s", runs: readingRates, target: 100_000, note: note),
            Figure(suite: "drain", name: "backlog drain", unit: "messages/s", runs: messageRates),
            Figure(suite: "drain", name: "CPU per 1000 readings drained", unit: "ms", runs: costs, higherIsBetter: false,
                   note: "gateway side only (store reader + uplink + writer marking sent)"),
        ]
    }
}
