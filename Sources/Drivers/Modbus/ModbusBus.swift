import GatewayModel
import Logging

/// One Modbus bus (TCP endpoint or RTU line) and the thread that owns it.
///
/// The owner thread alone talks to the link, so every transaction on the line
/// is serialised: scheduled polls and ad-hoc requests (`execute`) alike. Each
/// device is polled on its own grid of absolute monotonic deadlines; a device
/// that does not answer backs off (interval·2^k, at most 5 minutes) while the
/// others keep their interval; a broken TCP connection or vanished serial port
/// is reopened with its own backoff.
final class ModbusBus: BusRunner, @unchecked Sendable {
    // Invariant: `link`, `devices`, `schedule` and the link/backoff fields are
    // touched only by the owner thread (or by `stop()` after it has joined).
    // `shared` is guarded by `statusLock`.
    static let maxBackoffNanoseconds: UInt64 = 300_000_000_000
    static let summaryPeriodNanoseconds: UInt64 = 300_000_000_000
    static let utilisationWindowNanoseconds: UInt64 = 60_000_000_000

    let configuration: BusConfiguration
    private let sink: ReadingSink
    private let clock: GatewayClock
    private let logger: Logger
    private let queue = BoundedQueue<AdHocTransaction>(capacity: 32)
    private var thread: OwnerThread?
    private let startLock = ConditionLock()
    private var started = false

    private var link: ModbusLink?
    private var linkError: ModbusError?
    private var devices: [DeviceState]
    private var schedule = PollSchedule()
    private var reconnectNotBefore: UInt64 = 0
    private var reconnectBackoff: UInt64
    private let reconnectBackoffStart: UInt64
    private var linkFailingSince: UInt64?
    private var linkFailuresSinceSummary: UInt64 = 0
    private var linkLastSummary: UInt64 = 0
    private var timeoutsSinceLastAnswer = 0
    private var hasConnectedBefore = false

    private let statusLock = ConditionLock()
    private var shared: SharedState

    private struct SharedState {
        var connected = false
        var devices: [DeviceStatus]
        var counters: [String: UInt64] = [:]
        var busyIntervals: [(start: UInt64, end: UInt64)] = []
        var startedNanoseconds: UInt64 = 0
        var lastProgress: UInt64 = 0
        var stopping = false
    }

    private struct DeviceState {
        var device: BusDevice
        var intervalNanoseconds: UInt64
        /// Compiled once; replaced by a per-point map if the device refuses a coalesced read.
        var readMap: DeviceReadMap
        var previousDeadline: UInt64 = 0
        var consecutiveFailures: UInt64 = 0
        var failedSinceSummary: UInt64 = 0
        var lastSummary: UInt64 = 0
        var lastError: String?
    }

    init(configuration: BusConfiguration, devices: [BusDevice], sink: ReadingSink, clock: GatewayClock, logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.clock = clock
        var logger = logger
        logger[metadataKey: "bus"] = .string(configuration.name)
        self.logger = logger
        self.devices = devices.map { d in
            precondition(d.pointIDs.count == d.configuration.points.count,
                         "device \(d.configuration.id): \(d.pointIDs.count) point ids for \(d.configuration.points.count) points")
            return DeviceState(device: d, intervalNanoseconds: UInt64(max(1_000_000, d.configuration.interval.nanoseconds)),
                               readMap: DeviceReadMap(points: d.configuration.points))
        }
        let shortest = self.devices.map(\.intervalNanoseconds).min() ?? 1_000_000_000
        reconnectBackoffStart = min(shortest, 1_000_000_000)
        reconnectBackoff = reconnectBackoffStart
        shared = SharedState(devices: devices.map { DeviceStatus(id: $0.configuration.id) })
    }

    // MARK: BusRunner

    func start() {
        let go: Bool = startLock.withLock {
            if started { return false }
            started = true
            return true
        }
        guard go else { return }
        let t = OwnerThread(name: "bus-\(configuration.name)") { [self] in run() }
        thread = t
        t.start()
    }

    func stop() {
        statusLock.withLock { shared.stopping = true }
        queue.close()
        let t: OwnerThread? = startLock.withLock { started = true; return thread }
        t?.join()
        failQueued()
        link?.close()
        statusLock.withLock { shared.connected = false }
    }

    func status() -> BusStatus {
        let now = clock.monotonicNanoseconds()
        return statusLock.withLock {
            let windowStart = now > Self.utilisationWindowNanoseconds ? now - Self.utilisationWindowNanoseconds : 0
            let from = max(windowStart, shared.startedNanoseconds)
            var busy: UInt64 = 0
            for interval in shared.busyIntervals where interval.end > from {
                busy += interval.end - max(interval.start, from)
            }
            let span = now > from ? now - from : 0
            let utilisation = span == 0 ? 0 : min(1, Double(busy) / Double(span))
            return BusStatus(name: configuration.name, type: configuration.type.rawValue, connected: shared.connected,
                             utilisation: utilisation, devices: shared.devices, counters: shared.counters,
                             lastProgressMonotonicNanoseconds: shared.lastProgress)
        }
    }

    /// Queues one raw request for the owner thread and waits for its answer.
    /// Never blocks a cooperative thread: the caller suspends; the owner thread resumes it.
    /// - Throws: `ModbusError` from the transaction; `busStopped` if the bus stops first;
    ///   `busBusy` if 32 requests already wait; `CancellationError` if the task is cancelled.
    func execute(_ request: RegisterRequest) async throws -> RegisterResponse {
        let job = AdHocTransaction(request: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<RegisterResponse, Error>) in
                job.attach(c)
                if !queue.offer(job) {
                    job.finish(.failure(queue.isClosed
                        ? ModbusError.busStopped(bus: configuration.name)
                        : ModbusError.busBusy(bus: configuration.name, queued: queue.capacity)))
                }
            }
        } onCancel: {
            job.finish(.failure(CancellationError()))
        }
    }

    // MARK: Owner thread

    private var isStopping: Bool { statusLock.withLock { shared.stopping } }

    private func run() {
        let start = clock.monotonicNanoseconds()
        statusLock.withLock { shared.startedNanoseconds = start; shared.lastProgress = start }
        do {
            link = try ModbusLink(configuration: configuration)
        } catch {
            logger.error("cannot set up bus: \(error)")
        }
        for i in devices.indices {
            devices[i].previousDeadline = start
            schedule.schedule(device: i, atNanoseconds: start)
        }
        while !isStopping {
            // Sleep until the next deadline, waking at once for ad-hoc requests
            // and at least every second to show the watchdog we are alive.
            let now = clock.monotonicNanoseconds()
            var wait: UInt64 = 1_000_000_000
            if let next = schedule.next { wait = min(wait, next.deadlineNanoseconds > now ? next.deadlineNanoseconds - now : 0) }
            let jobs = wait == 0 ? queue.drain(max: 8) : queue.take(max: 8, untilMonotonicNanoseconds: SystemClock.monotonicNow() + wait)
            for job in jobs { runAdHoc(job) }
            statusLock.withLock { shared.lastProgress = clock.monotonicNanoseconds() }
            while !isStopping, let due = schedule.popDue(nowNanoseconds: clock.monotonicNanoseconds()) {
                poll(device: due.device, deadline: due.deadlineNanoseconds)
                // Ad-hoc requests get a turn between polls of an overdue bus.
                for job in queue.drain(max: 8) { runAdHoc(job) }
                statusLock.withLock { shared.lastProgress = clock.monotonicNanoseconds() }
            }
        }
    }

    private func failQueued() {
        for job in queue.drain() { job.finish(.failure(ModbusError.busStopped(bus: configuration.name))) }
    }

    private func runAdHoc(_ job: AdHocTransaction) {
        if job.isFinished { return }
        if isStopping {
            // stop() finishes the transaction in progress only; the rest of a taken batch fails.
            job.finish(.failure(ModbusError.busStopped(bus: configuration.name)))
            return
        }
        guard let link else {
            job.finish(.failure(linkError ?? ModbusError.busStopped(bus: configuration.name)))
            return
        }
        let started = clock.monotonicNanoseconds()
        let result = Result { try link.perform(job.request) }
        let ended = clock.monotonicNanoseconds()
        count("adhoc_requests")
        count("transactions")
        recordBusy(started, ended)
        if case .failure(let error as ModbusError) = result { noteLinkOutcome(error) } else { noteLinkOutcome(nil) }
        job.finish(result)
    }

    /// Ensures the link is open, respecting the reconnect backoff. Returns the error to report if not.
    private func openLink(now: UInt64) -> ModbusError? {
        guard let link else { return linkError ?? .busStopped(bus: configuration.name) }
        if link.isOpen { return nil }
        if now < reconnectNotBefore, let linkError { return linkError }
        do {
            try link.open()
            count(hasConnectedBefore ? "reopens" : "connects")
            hasConnectedBefore = true
            noteLinkOutcome(nil)
            return nil
        } catch let error as ModbusError {
            count("connect_failures")
            noteLinkOutcome(error)
            return error
        } catch {
            preconditionFailure("ModbusLink throws only ModbusError: \(error)")
        }
    }

    /// Tracks the link's health: backoff, logging once on failure, a summary every 5 minutes, once on recovery.
    private func noteLinkOutcome(_ error: ModbusError?) {
        let now = clock.monotonicNanoseconds()
        if let error, error.isConnectionLevel {
            link?.close()
            linkError = error
            reconnectNotBefore = now + reconnectBackoff
            if linkFailingSince == nil {
                linkFailingSince = now
                linkLastSummary = now
                linkFailuresSinceSummary = 0
                logger.warning("\(error); retrying in \(Self.text(reconnectBackoff)) and backing off up to 5m")
            } else {
                linkFailuresSinceSummary += 1
                if now - linkLastSummary >= Self.summaryPeriodNanoseconds {
                    logger.warning("still cannot reach \(link?.target ?? configuration.name): \(linkFailuresSinceSummary) more failed attempts in the last \(Self.text(now - linkLastSummary)); last: \(error)")
                    linkLastSummary = now
                    linkFailuresSinceSummary = 0
                }
            }
            reconnectBackoff = min(reconnectBackoff * 2, Self.maxBackoffNanoseconds)
            statusLock.withLock { shared.connected = false }
            return
        }
        // The link works (a unit may still have said no).
        if case .timeout = error {
            // On TCP a silently dead connection (NAT timeout, cable pulled at the
            // far side) only shows as timeouts: after three in a row with no
            // answer at all, start a fresh connection.
            timeoutsSinceLastAnswer += 1
            if configuration.type == .modbusTCP && timeoutsSinceLastAnswer >= 3 {
                timeoutsSinceLastAnswer = 0
                link?.close()
                statusLock.withLock { shared.connected = false }
                return
            }
        } else {
            timeoutsSinceLastAnswer = 0
        }
        if let since = linkFailingSince {
            logger.info("connected to \(link?.target ?? configuration.name) again after \(Self.text(now - since))")
            linkFailingSince = nil
        }
        linkError = nil
        reconnectBackoff = reconnectBackoffStart
        statusLock.withLock { shared.connected = link?.isOpen ?? false }
    }

    private func poll(device index: Int, deadline: UInt64) {
        let config = devices[index].device.configuration
        let startNow = clock.monotonicNanoseconds()
        var result: DevicePollResult
        if let error = openLink(now: startNow) {
            let stamp = clock.wallMilliseconds()
            result = DevicePollResult(outcomes: Array(repeating: PointOutcome(error: error, timestampMilliseconds: stamp),
                                                      count: config.points.count), failure: error)
        } else {
            result = DevicePoller.poll(link: link!, device: config, map: &devices[index].readMap, keepRegisters: false, clock: clock)
            let ended = clock.monotonicNanoseconds()
            recordBusy(startNow, ended)
            noteLinkOutcome(result.failure.map { $0.isConnectionLevel || $0.isNoAnswer ? $0 : nil } ?? nil)
            if result.anyAnswered { timeoutsSinceLastAnswer = 0 }
        }
        if let block = result.refusedCoalescedBlock {
            logger.notice("\(config.id) (unit \(config.unitID)) refused a read of \(block.table) \(block.address)–\(block.endAddress - 1) with exception 0x02; reading its points one by one from now on")
        }
        deliver(result, of: index)
        account(result, of: index)

        // Reschedule.
        let now = clock.monotonicNanoseconds()
        var state = devices[index]
        let next: UInt64
        if !Self.backsOff(result) {
            // Healthy, partly answered, garbled (something answered), or the link
            // (not the unit) failed: keep the grid. While the link is down no I/O
            // happens until its own backoff allows it.
            next = PollSchedule.nextDeadline(after: deadline, intervalNanoseconds: state.intervalNanoseconds, nowNanoseconds: now)
            state.previousDeadline = next
        } else {
            // The unit did not answer: one timeout per backoff period, not per poll.
            let k = min(state.consecutiveFailures, 20)
            let delay = min(state.intervalNanoseconds.multipliedReportingOverflow(by: 1 << k).partialValue, Self.maxBackoffNanoseconds)
            next = now + delay
            state.previousDeadline = next
        }
        devices[index] = state
        schedule.schedule(device: index, atNanoseconds: next)
    }

    /// A unit that stays silent backs off; one that answers, even garbled or
    /// with an exception, keeps its interval (the line or one point is at fault).
    static func backsOff(_ result: DevicePollResult) -> Bool {
        guard case .timeout? = result.failure else { return false }
        return !result.anyAnswered
    }

    private func deliver(_ result: DevicePollResult, of index: Int) {
        let device = devices[index].device
        let trusted = clock.isWallClockTrusted()
        var readings: [Reading] = []
        readings.reserveCapacity(result.outcomes.count)
        for (i, outcome) in result.outcomes.enumerated() {
            if let value = outcome.value {
                readings.append(Reading(pointID: device.pointIDs[i], timestampMilliseconds: outcome.timestampMilliseconds,
                                        value: value, quality: trusted ? .good : .clockUnsynced))
            } else {
                readings.append(Reading(pointID: device.pointIDs[i], timestampMilliseconds: outcome.timestampMilliseconds,
                                        value: nil, quality: .commError))
            }
        }
        if !readings.isEmpty { sink.deliver(readings: readings) }
    }

    /// Counters, device status and the rate-limited failure log.
    private func account(_ result: DevicePollResult, of index: Int) {
        let now = clock.monotonicNanoseconds()
        var state = devices[index]
        let config = state.device.configuration
        let wall = clock.wallMilliseconds()
        if let failure = result.failure {
            state.consecutiveFailures += 1
            let text = failure.description
            if state.consecutiveFailures == 1 {
                logger.warning("\(config.id): \(text)")
                state.lastSummary = now
                state.failedSinceSummary = 0
            } else {
                state.failedSinceSummary += 1
                if now - state.lastSummary >= Self.summaryPeriodNanoseconds {
                    logger.warning("\(config.id) still failing: \(state.failedSinceSummary) more failed polls in the last \(Self.text(now - state.lastSummary)); last: \(text)")
                    state.lastSummary = now
                    state.failedSinceSummary = 0
                }
            }
            state.lastError = text
        } else if state.consecutiveFailures > 0 {
            logger.info("\(config.id) answers again after \(state.consecutiveFailures) failed polls")
            state.consecutiveFailures = 0
        }
        let backoff = Self.backsOff(result)
        devices[index] = state
        statusLock.withLock {
            var s = shared.devices[index]
            if result.failure == nil {
                s.pollsOK += 1
                s.lastGoodPollMilliseconds = wall
                s.state = .ok
            } else {
                s.pollsFailed += 1
                s.state = backoff ? .backoff : .failing
                if result.anyAnswered && result.outcomes.contains(where: { $0.value != nil }) { s.lastGoodPollMilliseconds = wall }
            }
            s.consecutiveFailures = state.consecutiveFailures
            s.lastError = state.lastError
            shared.devices[index] = s
            shared.counters["transactions", default: 0] += UInt64(result.transactions)
            shared.counters["timeouts", default: 0] += UInt64(result.timeouts)
            shared.counters["exceptions", default: 0] += UInt64(result.exceptions)
            shared.counters["bad_frames", default: 0] += UInt64(result.invalidResponses)
            shared.counters["polls", default: 0] += 1
        }
    }

    private func recordBusy(_ start: UInt64, _ end: UInt64) {
        statusLock.withLock {
            shared.busyIntervals.append((start, end))
            // Prune in bulk every ~10 s, not on every poll: `status()` skips intervals outside
            // the window anyway, and a per-poll prune rescans thousands of entries on a busy bus.
            let window = Self.utilisationWindowNanoseconds + 10_000_000_000
            let horizon = end > window ? end - Self.utilisationWindowNanoseconds : 0
            if let first = shared.busyIntervals.first, end > window, first.end < end - window {
                shared.busyIntervals.removeAll { $0.end < horizon }
            }
        }
    }

    private func count(_ name: String) {
        statusLock.withLock { shared.counters[name, default: 0] += 1 }
    }

    static func text(_ nanoseconds: UInt64) -> String {
        ConfigUnits.text(.nanoseconds(Int64(min(nanoseconds, UInt64(Int64.max)))))
    }
}
