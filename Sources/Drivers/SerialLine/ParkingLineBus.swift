import GatewayModel
import Logging

/// A `serial-line` bus speaking the parking detector protocol: detectors (or
/// their concentrator) push frames on their own; this bus listens on its own
/// thread, turns frames into battery/RSSI readings and debounced occupancy
/// events, watches every configured bay's heartbeat, and reopens the port
/// when it vanishes (USB adapter unplugged and back) without a restart.
///
/// Thread model: `start()` spawns one owner thread that alone touches the
/// port, the parser and the bay trackers. `status()` reads a snapshot the
/// thread publishes under a lock, so it is safe from any thread. The sink is
/// called on the bus thread and may block (backpressure).
final class ParkingLineBus: BusRunner, @unchecked Sendable {
    // Invariant: the `let`s are immutable; `snapshot`, `stopping` and `thread`
    // are guarded by `lock`; everything under "bus thread only" is touched by
    // the owner thread alone, after `start()`.
    private let configuration: BusConfiguration
    private let sink: ReadingSink
    private let clock: GatewayClock
    private let logger: Logger
    private let reopenMinimumNanoseconds: UInt64
    private let reopenMaximumNanoseconds: UInt64
    private let summaryIntervalNanoseconds: UInt64

    private let lock = ConditionLock()
    private var snapshot: BusStatus
    private var stopping = false
    private var thread: OwnerThread?
    private let wake = WakeSignal()

    // Bus thread only.
    private var trackers: [ParkingBayTracker] = []
    private var trackerIndexByBay: [String: Int] = [:]
    private var parser = ParkingFrameParser()
    private var outcomes: [ParkingFrameParser.Outcome] = []
    private var lineCounters = LineCounters()
    private var unknownBaysLogged: Set<String> = []
    private var faultLog = LineFaultLog()
    private var utilisation = LineUtilisation()

    /// Counters the bus keeps beside the parser's.
    private struct LineCounters {
        var lostFrames: UInt64 = 0
        var duplicateFrames: UInt64 = 0
        var counterRestarts: UInt64 = 0
        var unknownBayFrames: UInt64 = 0
        var reopens: UInt64 = 0
        var openFailures: UInt64 = 0
    }

    /// Creates the bus; nothing is opened until `start()`.
    ///
    /// `devices` are the `[[device]]` entries on this bus; those of kind
    /// `parking_detector` with a `bay` are supervised, others are reported
    /// once in the log and ignored (config check rejects them earlier).
    convenience init(configuration: BusConfiguration, devices: [BusDevice], sink: ReadingSink,
                     clock: GatewayClock, logger: Logger) {
        self.init(configuration: configuration, devices: devices, sink: sink, clock: clock, logger: logger,
                  reopenBackoff: (.milliseconds(500), .seconds(10)))
    }

    /// As above, with the reopen backoff (first delay, doubling up to the second) chosen by the caller (tests).
    init(configuration: BusConfiguration, devices: [BusDevice], sink: ReadingSink, clock: GatewayClock,
         logger: Logger, reopenBackoff: (minimum: Duration, maximum: Duration),
         summaryInterval: Duration = .seconds(300)) {
        self.configuration = configuration
        self.sink = sink
        self.clock = clock
        self.logger = logger
        reopenMinimumNanoseconds = UInt64(max(1_000_000, reopenBackoff.minimum.nanoseconds))
        reopenMaximumNanoseconds = max(reopenMinimumNanoseconds, UInt64(max(0, reopenBackoff.maximum.nanoseconds)))
        summaryIntervalNanoseconds = UInt64(max(1_000_000_000, summaryInterval.nanoseconds))
        snapshot = BusStatus(name: configuration.name, type: configuration.type.rawValue)

        let start = clock.monotonicNanoseconds()
        for device in devices {
            let c = device.configuration
            guard c.kind == .parkingDetector, let bay = c.bay else {
                logger.error("device \(c.id) on bus \(configuration.name) is not a parking_detector with a bay; ignored")
                continue
            }
            guard device.pointIDs.count >= ParkingPoints.points.count else {
                logger.error("device \(c.id) on bus \(configuration.name) has \(device.pointIDs.count) point ids, needs \(ParkingPoints.points.count); ignored")
                continue
            }
            guard trackerIndexByBay[bay] == nil else {
                logger.error("device \(c.id) on bus \(configuration.name) names bay \(bay) already used by another device; ignored")
                continue
            }
            trackerIndexByBay[bay] = trackers.count
            trackers.append(ParkingBayTracker(bay: bay, deviceID: c.id, pointIDs: device.pointIDs,
                                              debounce: configuration.debounce,
                                              heartbeatTimeout: configuration.heartbeatTimeout,
                                              startMonotonic: start))
        }
        outcomes.reserveCapacity(64)
        faultLog.lastSummaryMonotonic = start
        publishStatus(connected: false, monotonic: start)
    }

    // MARK: BusRunner

    /// Starts the owner thread. Returns at once; calling it twice does nothing.
    func start() {
        let thread: OwnerThread? = lock.withLock {
            guard self.thread == nil, !stopping else { return nil }
            let t = OwnerThread(name: "bus \(configuration.name)") { [self] in run() }
            self.thread = t
            return t
        }
        thread?.start()
    }

    /// Stops listening, closes the port and joins the thread. Blocks the caller
    /// for at most one sink delivery in progress. Later calls return at once.
    func stop() {
        // Taking the thread out makes exactly one caller join it, and breaks
        // the bus → thread → closure → bus cycle so the bus can be freed.
        let thread: OwnerThread? = lock.withLock {
            stopping = true
            defer { self.thread = nil }
            return self.thread
        }
        wake.signal()
        thread?.join()
    }

    func status() -> BusStatus {
        lock.withLock { snapshot }
    }

    // MARK: The bus thread

    private var isStopping: Bool { lock.withLock { stopping } }

    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        let settings = SerialLineSettings(configuration)
        var port: SerialPort?
        var everOpened = false
        var failedAttempts: UInt64 = 0
        var backoff = reopenMinimumNanoseconds
        var nextOpenAttempt: UInt64 = 0
        var nextPresenceCheck: UInt64 = 0
        let presenceCheckInterval: UInt64 = 1_000_000_000
        var openedAt: UInt64 = 0
        /// A port that stayed open this long is healthy: its next loss starts the backoff afresh.
        let stableNanoseconds: UInt64 = 30_000_000_000
        let threadStart = clock.monotonicNanoseconds()
        for index in trackers.indices { trackers[index].startSupervision(monotonic: threadStart) }
        faultLog.lastSummaryMonotonic = threadStart

        while !isStopping {
            var now = clock.monotonicNanoseconds()
            if port == nil && now >= nextOpenAttempt {
                do {
                    let opened = try SerialPort(path: configuration.device, settings: settings)
                    port = opened
                    if everOpened {
                        lineCounters.reopens += 1
                        // Only outages that were announced get their end announced.
                        if faultLog.outageAnnounced {
                            logger.notice("bus \(configuration.name): serial port \(configuration.device) reopened after \(failedAttempts) failed attempt(s)")
                        }
                    } else {
                        logger.info("bus \(configuration.name): listening on \(configuration.device) at \(settings.baud) baud\(opened.kernelRS485 ? " (kernel RS-485 mode)" : "")")
                    }
                    everOpened = true
                    failedAttempts = 0
                    openedAt = now
                    nextPresenceCheck = now + presenceCheckInterval
                } catch {
                    lineCounters.openFailures += 1
                    failedAttempts += 1
                    // The first failure of an outage is logged (unless the vanishing
                    // already was); the rest go into the periodic summary.
                    if failedAttempts == 1 && !faultLog.outageAnnounced && announcePortFault(monotonic: now) {
                        logger.error("bus \(configuration.name): \(error)")
                    } else {
                        faultLog.suppressedOpenFailures += 1
                        faultLog.lastOpenError = "\(error)"
                    }
                    nextOpenAttempt = now + backoff
                    backoff = min(backoff * 2, reopenMaximumNanoseconds)
                }
            }

            runTimers(monotonic: now)
            logSummaryIfDue(monotonic: now)
            publishStatus(connected: port != nil, monotonic: now)

            var deadline = now + presenceCheckInterval
            for tracker in trackers { if let d = tracker.nextDeadline { deadline = min(deadline, d) } }
            if port == nil { deadline = min(deadline, nextOpenAttempt) }
            let timeoutMilliseconds = Int32(clamping: deadline > now ? (deadline - now + 999_999) / 1_000_000 : 0)

            guard let open = port else {
                _ = wake.wait(timeoutMilliseconds: timeoutMilliseconds)
                continue
            }
            do {
                let result = try open.read(into: buffer, timeoutMilliseconds: timeoutMilliseconds, wake: wake)
                now = clock.monotonicNanoseconds()
                if case .bytes(let n) = result {
                    utilisation.add(bytes: n, monotonic: now)
                    process(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), monotonic: now)
                }
                if now >= nextPresenceCheck {
                    nextPresenceCheck = now + presenceCheckInterval
                    try open.checkStillPresent()
                }
            } catch {
                port = nil
                faultLog.outageAnnounced = false
                if announcePortFault(monotonic: now) {
                    logger.warning("bus \(configuration.name): \(error)")
                } else {
                    faultLog.suppressedPortLosses += 1
                }
                // The node often comes back a moment later (re-enumeration): after a
                // healthy spell retry soon; a port that hangs up right after every
                // open (a failing adapter) keeps backing off instead of spinning.
                if now - min(now, openedAt) >= stableNanoseconds { backoff = reopenMinimumNanoseconds }
                nextOpenAttempt = now + backoff
                backoff = min(backoff * 2, reopenMaximumNanoseconds)
                failedAttempts = 0
                // A frame cut by the loss must not be glued to the first bytes after reopening.
                parser.discardPartialLine()
            }
        }
        port = nil
        publishStatus(connected: false, monotonic: clock.monotonicNanoseconds())
    }

    /// Parses what arrived and hands frames to their bays.
    private func process(_ bytes: UnsafeRawBufferPointer, monotonic: UInt64) {
        outcomes.removeAll(keepingCapacity: true)
        parser.feed(bytes) { outcomes.append($0) }
        guard !outcomes.isEmpty else { return }
        let wall = clock.wallMilliseconds()
        let quality: Quality = clock.isWallClockTrusted() ? .good : .clockUnsynced
        for outcome in outcomes {
            switch outcome {
            case .frame(let frame):
                guard let index = trackerIndexByBay[frame.bay] else {
                    lineCounters.unknownBayFrames += 1
                    // Once per bay (bounded, in case a noisy line invents many).
                    if unknownBaysLogged.count < 256, unknownBaysLogged.insert(frame.bay).inserted {
                        logger.warning("bus \(configuration.name): frames from bay \(frame.bay), which no [[device]] names; counted and ignored")
                    }
                    continue
                }
                let (verdict, readings, event) = trackers[index].accept(frame, monotonic: monotonic, wall: wall, quality: quality)
                switch verdict {
                case .duplicate: lineCounters.duplicateFrames += 1
                case .restarted: lineCounters.counterRestarts += 1
                case .lost(let n):
                    lineCounters.lostFrames += UInt64(n)
                    noteFirstFault(.lostFrames, "bay \(frame.bay) lost \(n) frame(s) (counter jumped to \(frame.counter))")
                case .inSequence: break
                }
                if !readings.isEmpty { sink.deliver(readings: readings) }
                if let event { deliver(event, bay: trackers[index].bay) }
            case .rejected(let reason, let bay):
                if let bay, let index = trackerIndexByBay[bay] { trackers[index].reject(reason) }
                switch reason {
                case .badChecksum: noteFirstFault(.badChecksum, "bad checksum in a frame" + (bay.map { " from bay \($0)" } ?? ""))
                case .malformed: noteFirstFault(.malformed, "malformed frame" + (bay.map { " from bay \($0)" } ?? ""))
                case .oversize: noteFirstFault(.oversize, "a line longer than \(ParkingFrameParser.maxLineBytes) bytes without a line end")
                }
            }
        }
        if parser.counters.garbageBytes > 0 {
            noteFirstFault(.garbage, "bytes outside any frame (noise, wrong baud rate or another protocol on the line)")
        }
        // A debounce of zero, or a timer already due, fires without waiting for the next loop.
        runTimers(monotonic: monotonic)
    }

    private func runTimers(monotonic: UInt64) {
        var wall: Int64?
        for index in trackers.indices {
            guard let deadline = trackers[index].nextDeadline, deadline <= monotonic else { continue }
            let now = wall ?? clock.wallMilliseconds()
            wall = now
            while let event = trackers[index].tick(monotonic: monotonic, wall: now) {
                if event.quality == .commError {
                    // A dead concentrator silences every bay at once: one line, then a count.
                    if faultLog.silenceLogged {
                        faultLog.suppressedSilentBays += 1
                    } else {
                        faultLog.silenceLogged = true
                        logger.warning("bus \(configuration.name): \(trackers[index].lastError ?? "bay \(trackers[index].bay) silent")")
                    }
                }
                deliver(event, bay: trackers[index].bay)
            }
        }
    }

    private func deliver(_ event: DeviceEvent, bay: String) {
        logger.debug("bus \(configuration.name): bay \(bay) is \(event.state)")
        sink.deliver(event: event)
    }

    // MARK: Logging, rate-limited

    /// Line faults are logged the first time each kind is seen, then only in
    /// a summary at most every `summaryInterval` (default 5 minutes): a noisy
    /// line must not flood the journal.
    private struct LineFaultLog {
        enum Kind: CaseIterable { case badChecksum, malformed, oversize, garbage, lostFrames }
        var logged: Set<Kind> = []
        var lastSummaryMonotonic: UInt64 = 0
        var countersAtLastSummary: [String: UInt64] = [:]
        var suppressedOpenFailures: UInt64 = 0
        var lastOpenError: String?
        /// When a port fault (lost or failed open) was last logged.
        var lastPortFaultLogged: UInt64?
        /// Whether the current outage was logged (so its end is too).
        var outageAnnounced = false
        var suppressedPortLosses: UInt64 = 0
        var silenceLogged = false
        var suppressedSilentBays: UInt64 = 0
    }

    /// Whether a port fault may be logged now: at most one per summary interval.
    private func announcePortFault(monotonic: UInt64) -> Bool {
        if let last = faultLog.lastPortFaultLogged, monotonic - min(monotonic, last) < summaryIntervalNanoseconds {
            return false
        }
        faultLog.lastPortFaultLogged = monotonic
        faultLog.outageAnnounced = true
        return true
    }

    private func noteFirstFault(_ kind: LineFaultLog.Kind, _ message: String) {
        guard faultLog.logged.insert(kind).inserted else { return }
        logger.warning("bus \(configuration.name): \(message); further faults of this kind are summarised every \(ConfigUnits.text(.nanoseconds(Int64(summaryIntervalNanoseconds))))")
    }

    private func logSummaryIfDue(monotonic: UInt64) {
        guard monotonic - min(monotonic, faultLog.lastSummaryMonotonic) >= summaryIntervalNanoseconds else { return }
        faultLog.lastSummaryMonotonic = monotonic
        let now = counters()
        var parts: [String] = []
        for (key, words) in [("bad_checksum", "bad checksums"), ("malformed", "malformed frames"),
                             ("oversize_lines", "over-long lines"), ("garbage_bytes", "garbage bytes"),
                             ("lost_frames", "lost frames"), ("unknown_bay_frames", "frames from unknown bays")] {
            let delta = (now[key] ?? 0) - min(now[key] ?? 0, faultLog.countersAtLastSummary[key] ?? 0)
            if delta > 0 { parts.append("\(delta) \(words)") }
        }
        if faultLog.suppressedPortLosses > 0 {
            parts.append("the port went away \(faultLog.suppressedPortLosses) more time(s)")
            faultLog.suppressedPortLosses = 0
        }
        if faultLog.suppressedOpenFailures > 0, let error = faultLog.lastOpenError {
            parts.append("\(faultLog.suppressedOpenFailures) more failed opens (last: \(error))")
            faultLog.suppressedOpenFailures = 0
        }
        if faultLog.suppressedSilentBays > 0 {
            parts.append("\(faultLog.suppressedSilentBays) more bays fell silent (heartbeat timeout)")
            faultLog.suppressedSilentBays = 0
        }
        faultLog.silenceLogged = false
        faultLog.countersAtLastSummary = now
        if !parts.isEmpty {
            logger.warning("bus \(configuration.name) in the last \(ConfigUnits.text(.nanoseconds(Int64(summaryIntervalNanoseconds)))): \(parts.joined(separator: ", "))")
        }
    }

    // MARK: Status

    private func counters() -> [String: UInt64] {
        let p = parser.counters
        return [
            "frames_ok": p.framesOK,
            "bad_checksum": p.badChecksum,
            "malformed": p.malformed,
            "garbage_bytes": p.garbageBytes,
            "oversize_lines": p.oversizeLines,
            "lost_frames": lineCounters.lostFrames,
            "duplicate_frames": lineCounters.duplicateFrames,
            "counter_restarts": lineCounters.counterRestarts,
            "unknown_bay_frames": lineCounters.unknownBayFrames,
            "reopens": lineCounters.reopens,
            "open_failures": lineCounters.openFailures,
        ]
    }

    private func publishStatus(connected: Bool, monotonic: UInt64) {
        utilisation.roll(monotonic)
        let status = BusStatus(
            name: configuration.name, type: configuration.type.rawValue, connected: connected,
            utilisation: utilisation.fraction(baud: configuration.baud,
                                              bitsPerCharacter: SerialLineSettings(configuration).bitsPerCharacter),
            devices: trackers.map(\.status), counters: counters(), lastProgressMonotonicNanoseconds: monotonic)
        lock.withLock { snapshot = status }
    }
}

/// Bytes received per minute, for the share of time the line carried data.
private struct LineUtilisation {
    private var windowStart: UInt64 = 0
    private var bytesThisWindow = 0
    private var bytesLastWindow = 0
    private static let window: UInt64 = 60_000_000_000

    mutating func add(bytes: Int, monotonic: UInt64) {
        roll(monotonic)
        bytesThisWindow += bytes
    }

    /// Closes the minute when it is over, even if the line has gone quiet.
    mutating func roll(_ monotonic: UInt64) {
        if windowStart == 0 { windowStart = monotonic }
        if monotonic - min(monotonic, windowStart) >= Self.window {
            // A gap of more than one window means the last full minute was silent.
            bytesLastWindow = monotonic - windowStart >= 2 * Self.window ? 0 : bytesThisWindow
            bytesThisWindow = 0
            windowStart = monotonic
        }
    }

    func fraction(baud: Int, bitsPerCharacter: Int) -> Double {
        guard baud > 0 else { return 0 }
        return min(1, Double(bytesLastWindow * bitsPerCharacter) / (Double(baud) * 60))
    }
}
