import GatewayModel

/// The points every parking detector has, in the order `BusDevice.pointIDs` carries them.
public enum ParkingPoints {
    public static let points: [(name: String, unit: String)] = [
        (name: "occupancy", unit: ""),
        (name: "battery_mv", unit: "mV"),
        (name: "rssi_dbm", unit: "dBm"),
    ]
}

/// Where a frame's counter says it sits in the detector's sequence.
enum ParkingCounterVerdict: Equatable {
    /// The first frame seen, or the next one.
    case inSequence
    /// This many frames were sent but never arrived.
    case lost(Int)
    /// The same counter again: a repeat (concentrator retry or echo), ignored.
    case duplicate
    /// The counter went backwards: the detector restarted. Nothing counted as lost.
    case restarted
}

/// One bay's view of its detector, owned by the bus thread: the counter
/// sequence, debounce of state changes and heartbeat supervision. Pure logic
/// on the times it is given, so it is tested without a port.
///
/// Debounce: a new state becomes an event only after no frame contradicted it
/// for `debounceNanoseconds`; the event carries the time of the first frame
/// reporting it. A flap back to the published state cancels the candidate.
///
/// Heartbeat: a bay with no frame for `heartbeatTimeoutNanoseconds` gets one
/// `fault` event with quality `comm_error` (and no value). The next frame ends
/// that: the bay's last known state is published again at once, unless the
/// frame reports another state, which is then debounced as usual.
struct ParkingBayTracker {
    let bay: String
    let deviceID: String
    let occupancyPoint: PointID
    let batteryPoint: PointID
    let rssiPoint: PointID
    let debounceNanoseconds: UInt64
    let heartbeatTimeoutNanoseconds: UInt64

    private(set) var lastCounter: UInt16?
    /// The state last published in an event (nil: none yet).
    private(set) var publishedState: ParkingBayState?
    private var candidate: (state: ParkingBayState, sinceMonotonic: UInt64, sinceWall: Int64, quality: Quality)?
    private(set) var lastFrameMonotonic: UInt64
    private(set) var communicationLost = false

    // Status for `gatewayctl status`.
    private(set) var framesAccepted: UInt64 = 0
    private(set) var framesRejected: UInt64 = 0
    private(set) var consecutiveRejected: UInt64 = 0
    private(set) var lostFrames: UInt64 = 0
    private(set) var duplicateFrames: UInt64 = 0
    private(set) var lastFrameWall: Int64?
    private(set) var lastError: String?

    init(bay: String, deviceID: String, pointIDs: [PointID], debounce: Duration, heartbeatTimeout: Duration,
         startMonotonic: UInt64) {
        self.bay = bay
        self.deviceID = deviceID
        occupancyPoint = pointIDs[0]
        batteryPoint = pointIDs[1]
        rssiPoint = pointIDs[2]
        debounceNanoseconds = UInt64(max(0, debounce.nanoseconds))
        heartbeatTimeoutNanoseconds = UInt64(max(1, heartbeatTimeout.nanoseconds))
        // A bay never heard from is timed from the bus start, so a dead detector shows up.
        lastFrameMonotonic = startMonotonic
    }

    /// Starts the silence clock of a bay not heard from yet (the bus thread starting later than the bus was built).
    mutating func startSupervision(monotonic: UInt64) {
        if lastFrameWall == nil && !communicationLost { lastFrameMonotonic = monotonic }
    }

    /// Classifies a counter and remembers it. Counters wrap at 65535 → 0.
    static func classify(counter: UInt16, after last: UInt16?) -> ParkingCounterVerdict {
        guard let last else { return .inSequence }
        let step = counter &- last  // modulo 65536
        if step == 0 { return .duplicate }
        if step == 1 { return .inSequence }
        // More than half the ring forward is read as the counter going back: a restart.
        if step > 0x8000 { return .restarted }
        return .lost(Int(step) - 1)
    }

    /// Takes a good frame addressed to this bay. Returns the counter verdict
    /// (the caller drops duplicates entirely), the readings to deliver and any event.
    mutating func accept(_ frame: ParkingFrame, monotonic: UInt64, wall: Int64, quality: Quality)
        -> (verdict: ParkingCounterVerdict, readings: [Reading], event: DeviceEvent?) {
        let verdict = Self.classify(counter: frame.counter, after: lastCounter)
        if verdict == .duplicate {
            duplicateFrames += 1
            return (verdict, [], nil)
        }
        lastCounter = frame.counter
        if case .lost(let n) = verdict { lostFrames += UInt64(n) }
        framesAccepted += 1
        consecutiveRejected = 0
        lastFrameMonotonic = monotonic
        lastFrameWall = wall

        var readings = [Reading(pointID: batteryPoint, timestampMilliseconds: wall,
                                value: Double(frame.batteryMillivolts), quality: quality)]
        var event: DeviceEvent?
        var reported: ParkingBayState?
        switch frame.kind {
        case .state(let state): reported = state
        case .heartbeat(let rssi):
            readings.append(Reading(pointID: rssiPoint, timestampMilliseconds: wall, value: Double(rssi), quality: quality))
        }

        if communicationLost {
            communicationLost = false
            lastError = nil
            // Back: republish what we knew, unless this very frame says otherwise.
            if let known = publishedState, reported == nil || reported == known {
                event = stateEvent(known, wall: wall, quality: quality)
            } else {
                publishedState = nil
            }
        }
        if let reported { observe(reported, monotonic: monotonic, wall: wall, quality: quality) }
        // A debounce of zero confirms at once.
        if event == nil { event = confirmIfDue(monotonic: monotonic) }
        return (verdict, readings, event)
    }

    /// Records a bad frame attributed to this bay.
    mutating func reject(_ reason: ParkingFrameParser.Rejection) {
        framesRejected += 1
        consecutiveRejected += 1
        switch reason {
        case .badChecksum: lastError = "bad checksum in a frame from bay \(bay)"
        case .malformed: lastError = "malformed frame from bay \(bay)"
        case .oversize: lastError = "over-long line from bay \(bay)"
        }
    }

    private mutating func observe(_ state: ParkingBayState, monotonic: UInt64, wall: Int64, quality: Quality) {
        if state == publishedState {
            candidate = nil  // a flap that came back: nothing happened
        } else if candidate?.state != state {
            candidate = (state, monotonic, wall, quality)
        }
    }

    /// Checks the timers: a candidate that held long enough, a heartbeat that
    /// is overdue. Call after processing input and whenever `nextDeadline` passes.
    mutating func tick(monotonic: UInt64, wall: Int64) -> DeviceEvent? {
        if let event = confirmIfDue(monotonic: monotonic) { return event }
        if !communicationLost && monotonic >= lastFrameMonotonic
            && monotonic - lastFrameMonotonic >= heartbeatTimeoutNanoseconds {
            communicationLost = true
            candidate = nil
            let silentFor = ConfigUnits.text(.nanoseconds(Int64(heartbeatTimeoutNanoseconds)))
            lastError = "no frame from bay \(bay) for \(silentFor) (heartbeat timeout)"
            return DeviceEvent(pointID: occupancyPoint, timestampMilliseconds: wall, state: ParkingBayState.fault.name,
                               value: nil, quality: .commError)
        }
        return nil
    }

    /// The monotonic instant `tick` next has something to do, if any.
    var nextDeadline: UInt64? {
        var deadline: UInt64?
        if let candidate { deadline = candidate.sinceMonotonic + debounceNanoseconds }
        if !communicationLost {
            let heartbeat = lastFrameMonotonic + heartbeatTimeoutNanoseconds
            deadline = min(deadline ?? heartbeat, heartbeat)
        }
        return deadline
    }

    private mutating func confirmIfDue(monotonic: UInt64) -> DeviceEvent? {
        guard let c = candidate, monotonic >= c.sinceMonotonic + debounceNanoseconds else { return nil }
        candidate = nil
        publishedState = c.state
        return stateEvent(c.state, wall: c.sinceWall, quality: c.quality)
    }

    private func stateEvent(_ state: ParkingBayState, wall: Int64, quality: Quality) -> DeviceEvent {
        DeviceEvent(pointID: occupancyPoint, timestampMilliseconds: wall, state: state.name,
                    value: Double(state.rawValue), quality: state == .fault ? .deviceFault : quality)
    }

    var status: DeviceStatus {
        let state: DeviceStatus.State
        if communicationLost || consecutiveRejected > 0 { state = .failing }
        else if framesAccepted > 0 { state = .ok }
        else { state = .unknown }
        return DeviceStatus(id: deviceID, state: state, lastGoodPollMilliseconds: lastFrameWall,
                            pollsOK: framesAccepted, pollsFailed: framesRejected,
                            consecutiveFailures: communicationLost ? max(1, consecutiveRejected) : consecutiveRejected,
                            lastError: lastError)
    }
}
