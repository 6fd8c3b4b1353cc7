import BufferStore
import Drivers
import GatewayModel
import Logging
import Uplink

/// What the box's supervisor (systemd) and monitoring (node_exporter) see.
struct HealthReporting: Sendable {
    /// Where to write `gatewayd.prom` (node_exporter textfile collector), if anywhere.
    var metricsDirectory: String?
    /// How often metrics are written and `STATUS=` refreshed. Default 10 s.
    var sampleIntervalNanoseconds: UInt64 = 10_000_000_000
}

/// One thread of its own, so neither SQLite reads nor file writes touch the
/// cooperative pool: pings the systemd watchdog at half of `WATCHDOG_USEC`
/// while every bus, the store writer and the uplink show progress within their
/// windows (`ProgressCheck`), refreshes `STATUS=`, writes the metrics file.
final class HealthReporter: @unchecked Sendable {
    // Invariant: everything but `stopRequested` is touched only by the reporter thread;
    // `stopRequested` is guarded by `condition`.
    private let runtime: GatewayRuntime
    private let notifier: SystemdNotifier
    private let settings: HealthReporting
    private let logger: Logger
    private let condition = ConditionLock()
    private var stopRequested = false
    private var thread: OwnerThread?
    private var reader: BufferReader?
    private var readerPath: String?
    private var lastStatus = ""
    private var reportedStalls: [String] = []
    private var metricsFailureLogged = false
    private var backlog: (records: Int64, oldestMilliseconds: Int64?) = (0, nil)
    private var activeAlarms = 0
    private var watchdogPings: UInt64 = 0
    private var commitWatch = CommitWatch()

    init(runtime: GatewayRuntime, notifier: SystemdNotifier, settings: HealthReporting, logger: Logger) {
        self.runtime = runtime
        self.notifier = notifier
        self.settings = settings
        self.logger = logger
    }

    /// The one-line summary for `STATUS=`, sampled now. Blocks briefly (a SQLite read).
    /// Called from other threads (startup, reload), so it reads the backlog through a
    /// connection of its own and touches none of the reporter thread's state.
    func statusLine() -> String {
        let snapshot = runtime.snapshot()
        var backlogRecords: Int64 = 0
        if let path = snapshot.storePath, let reader = try? BufferReader(path: path), let b = try? reader.backlog() {
            backlogRecords = b.records
        }
        return HealthReporter.statusLine(snapshot, backlog: backlogRecords, stalls: ProgressCheck.stalls(
            in: snapshot, nowNanoseconds: runtime.clock.monotonicNanoseconds()))
    }

    func start() {
        let t = OwnerThread(name: "health") { [self] in run() }
        thread = t
        t.start()
    }

    /// Stops the thread and joins it. Blocks.
    func stop() {
        condition.withLock { stopRequested = true; condition.broadcast() }
        thread?.join()
        thread = nil
    }

    private func run() {
        let clock = runtime.clock
        // Ping at half the interval systemd expects, and not more often than 10 times a second.
        let pingEvery = notifier.watchdogIntervalNanoseconds.map { max(100_000_000, $0 / 2) }
        let sampleEvery = max(200_000_000, settings.sampleIntervalNanoseconds)
        var nextSample: UInt64 = 0
        while true {
            let now = clock.monotonicNanoseconds()
            let snapshot = runtime.snapshot()
            var stalls = ProgressCheck.stalls(in: snapshot, nowNanoseconds: now)
            if let s = commitWatch.check(snapshot, nowNanoseconds: now), !stalls.contains(where: { $0.part == s.part }) {
                stalls.append(s)
            }
            // A change in what is stalled shows in STATUS= at once, not at the next sample.
            if noteStalls(stalls) { nextSample = now }
            if pingEvery != nil, stalls.isEmpty {
                notifier.watchdogPing()
                watchdogPings += 1
            }
            if now >= nextSample {
                nextSample = now + sampleEvery
                sampleBuffer(snapshot)
                let line = HealthReporter.statusLine(snapshot, backlog: backlog.records, stalls: stalls)
                if line != lastStatus {
                    lastStatus = line
                    notifier.status(line)
                }
                writeMetrics(snapshot, stalls: stalls)
            }
            let wait = min(pingEvery ?? sampleEvery, nextSample > now ? nextSample - now : 0, sampleEvery)
            let deadline = SystemClock.monotonicNow() + max(wait, 50_000_000)
            let stopping = condition.withLock { () -> Bool in
                if !stopRequested { _ = condition.wait(untilMonotonicNanoseconds: deadline) }
                return stopRequested
            }
            if stopping { break }
        }
    }

    /// One line when a part stalls, one when it is back: never a line per check.
    private func noteStalls(_ stalls: [Stall]) -> Bool {
        let parts = stalls.map(\.part)
        defer { reportedStalls = parts }
        for s in stalls where !reportedStalls.contains(s.part) {
            logger.error("watchdog: \(s); no more WATCHDOG=1, so systemd restarts gatewayd if this lasts")
        }
        for p in reportedStalls where !parts.contains(p) {
            logger.notice("watchdog: \(p) is making progress again")
        }
        return parts != reportedStalls
    }

    /// Backlog and active alarms from a read-only connection of this thread.
    private func sampleBuffer(_ snapshot: RuntimeSnapshot) {
        guard let path = snapshot.storePath else { return }
        do {
            if reader == nil || readerPath != path {
                reader = try BufferReader(path: path)
                readerPath = path
            }
            backlog = try reader!.backlog()
            activeAlarms = try reader!.alarms(activeOnly: true).count
        } catch {
            reader = nil
            logger.debug("health: cannot read the buffer for backlog", metadata: ["error": "\(error)"])
        }
    }

    private func writeMetrics(_ snapshot: RuntimeSnapshot, stalls: [Stall]) {
        guard let directory = settings.metricsDirectory else { return }
        let text = GatewayMetrics.render(snapshot, backlogRecords: backlog.records,
                                         oldestPendingMilliseconds: backlog.oldestMilliseconds,
                                         activeAlarms: activeAlarms, stalls: stalls, watchdogPings: watchdogPings,
                                         nowMilliseconds: runtime.clock.wallMilliseconds())
        do {
            try MetricsTextfile(directory: directory).write(text)
            if metricsFailureLogged {
                metricsFailureLogged = false
                logger.notice("metrics file written again", metadata: ["directory": "\(directory)"])
            }
        } catch {
            if !metricsFailureLogged {
                metricsFailureLogged = true
                logger.error("\(error)")
            }
        }
    }

    /// e.g. "3 buses, 12 devices (11 ok), uplink connected, backlog 0".
    static func statusLine(_ s: RuntimeSnapshot, backlog: Int64, stalls: [Stall]) -> String {
        let devices = s.buses.flatMap(\.devices)
        let ok = devices.filter { $0.state == .ok }.count
        var parts = ["\(s.buses.count) bus\(s.buses.count == 1 ? "" : "es")",
                     "\(devices.count) device\(devices.count == 1 ? "" : "s") (\(ok) ok)"]
        if !s.uplinkConfigured {
            parts.append("no uplink")
        } else if let u = s.uplink {
            parts.append(u.connected ? "uplink connected" : "uplink disconnected")
        } else {
            parts.append("uplink restarting")
        }
        parts.append("backlog \(backlog)")
        if !stalls.isEmpty { parts.append("STALLED: " + stalls.map(\.part).joined(separator: ", ")) }
        return parts.joined(separator: ", ")
    }
}
