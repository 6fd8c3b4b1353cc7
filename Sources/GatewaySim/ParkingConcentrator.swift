#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parking concentrator pushing detector frames down a serial line (a pty):
/// every bay sends a heartbeat every `--heartbeat`, bays change state at
/// random (`--change-rate` per minute over the whole row), and faults are
/// injected by flag or command. Counters start at `--first-counter` and go
/// up by one for every frame a detector sends, including frames spoilt on the
/// line (bad checksum, cut short) and frames lost (`drop`): that is what lets
/// the gateway see the loss.
final class ParkingConcentrator {
    struct Settings {
        var link: String
        var bays: [String]
        var heartbeatSeconds: Double
        var changesPerMinute: Double
        var seed: UInt64
        var firstCounter: UInt16
        var noise: Bool
        var badChecksumEvery: Int?
        var partialEvery: Int?
        var dropEvery: Int?
        var unknownBays: [String]
        var silentBays: [String]
    }

    struct Bay {
        let id: String
        var state: Int
        var nextCounter: UInt16
        var batteryMillivolts: Double
        let rssiDBm: Int
        var isSilent: Bool
        var nextHeartbeatNanoseconds: UInt64
        /// Unconfigured detectors (`--unknown-bay`) belong to someone else's row.
        let isUnknown: Bool
    }

    private let settings: Settings
    private let terminal: PseudoTerminal
    private var generator: SeededGenerator
    /// Console commands change states and silence bays directly.
    var bays: [Bay] = []
    private var noiseBetweenFrames: Bool
    private var nextChangeNanoseconds: UInt64 = .max
    /// Frames sent (or spoilt or lost) so far, for the `--*-every` faults.
    private var frameNumber = 0
    private let heartbeatNanoseconds: UInt64

    init(settings: Settings) throws {
        self.settings = settings
        terminal = try PseudoTerminal(link: settings.link)
        generator = SeededGenerator(seed: settings.seed)
        noiseBetweenFrames = settings.noise
        heartbeatNanoseconds = UInt64(max(0.001, settings.heartbeatSeconds) * 1e9)
        let now = SimulatedClock.monotonicNanoseconds()
        let all = settings.bays.map { ($0, false) } + settings.unknownBays.map { ($0, true) }
        for (i, (id, unknown)) in all.enumerated() {
            // Heartbeats spread over the period, as real detectors drift apart.
            let offset = heartbeatNanoseconds * UInt64(i + 1) / UInt64(all.count)
            bays.append(Bay(id: id, state: Int.random(in: 0...1, using: &generator), nextCounter: settings.firstCounter,
                            batteryMillivolts: Double.random(in: 3550...3650, using: &generator),
                            rssiDBm: Int.random(in: -92 ... -60, using: &generator),
                            isSilent: settings.silentBays.contains(id), nextHeartbeatNanoseconds: now + offset,
                            isUnknown: unknown))
        }
        scheduleNextChange(after: now)
    }

    func index(of bay: String) -> Int? { bays.firstIndex { $0.id == bay } }

    /// The pty master, for the event loop (what the gateway writes is read and ignored).
    var masterFD: Int32 { terminal.masterFD }
    var link: String { terminal.link }

    func discardInput() { _ = terminal.readAvailable() }

    /// Each bay's current state, so a gateway opening the port later still learns it.
    func sendInitialStates() {
        for i in bays.indices where !bays[i].isSilent { sendState(i) }
    }

    /// Sends whatever is due now; returns milliseconds until the next thing is due.
    func sendDue() -> Int32 {
        let now = SimulatedClock.monotonicNanoseconds()
        for i in bays.indices where bays[i].nextHeartbeatNanoseconds <= now {
            bays[i].nextHeartbeatNanoseconds = max(bays[i].nextHeartbeatNanoseconds + heartbeatNanoseconds, now)
            if !bays[i].isSilent { sendHeartbeat(i) }
        }
        if nextChangeNanoseconds <= now {
            let candidates = bays.indices.filter { !bays[$0].isSilent && !bays[$0].isUnknown }
            if let i = candidates.randomElement(using: &generator) {
                bays[i].state = bays[i].state == 1 ? 0 : 1
                sendState(i)
            }
            scheduleNextChange(after: now)
        }
        let next = min(nextChangeNanoseconds, bays.map(\.nextHeartbeatNanoseconds).min() ?? .max)
        let waitNanoseconds = next > now ? next - now : 0
        return Int32(min(waitNanoseconds / 1_000_000 + 1, 1000))
    }

    private func scheduleNextChange(after now: UInt64) {
        guard settings.changesPerMinute > 0 else { nextChangeNanoseconds = .max; return }
        // Exponential gaps: independent random arrivals at the given mean rate.
        let u = Double.random(in: Double.ulpOfOne..<1, using: &generator)
        let seconds = -log(u) * 60 / settings.changesPerMinute
        nextChangeNanoseconds = now + UInt64(min(seconds, 1e6) * 1e9)
    }

    // MARK: Frames

    enum Spoil { case none, badChecksum, partial, lost }

    /// Sends a state frame for bay `i` and returns the counter it carried.
    @discardableResult
    func sendState(_ i: Int, spoil: Spoil = .none) -> UInt16 {
        let counter = takeCounter(i)
        let body = "PKD,\(bays[i].id),\(bays[i].state),\(battery(i)),\(counter)"
        emit(body, spoil: spoil)
        return counter
    }

    @discardableResult
    func sendHeartbeat(_ i: Int, spoil: Spoil = .none) -> UInt16 {
        let counter = takeCounter(i)
        let rssi = bays[i].rssiDBm + Int.random(in: -3...3, using: &generator)
        let body = "PKH,\(bays[i].id),\(battery(i)),\(rssi),\(counter)"
        emit(body, spoil: spoil)
        return counter
    }

    /// A frame lost on the way: the detector's counter moves on, nothing arrives.
    @discardableResult
    func dropFrame(_ i: Int) -> UInt16 {
        frameNumber += 1
        return takeCounter(i)
    }

    /// Random bytes (never `$`, CR or LF) ended by CRLF, so the frame after it is always intact.
    @discardableResult
    func sendNoise() -> Int {
        let count = Int.random(in: 4...24, using: &generator)
        var bytes: [UInt8] = []
        while bytes.count < count {
            let b = UInt8.random(in: 0...255, using: &generator)
            if b != UInt8(ascii: "$") && b != 0x0D && b != 0x0A { bytes.append(b) }
        }
        terminal.write(bytes + [0x0D, 0x0A])
        return count
    }

    func setNoise(_ on: Bool) { noiseBetweenFrames = on }

    /// Writes a finished frame as is (a detector from another row, `unknown`).
    func writeRaw(_ frame: String) {
        terminal.write(Array(frame.utf8))
    }

    private func takeCounter(_ i: Int) -> UInt16 {
        let counter = bays[i].nextCounter
        bays[i].nextCounter = counter &+ 1
        return counter
    }

    private func battery(_ i: Int) -> Int {
        // Batteries sag a little with every transmission and jitter by a few mV.
        bays[i].batteryMillivolts = max(2800, bays[i].batteryMillivolts - 0.01)
        return Int(bays[i].batteryMillivolts.rounded()) + Int.random(in: -3...3, using: &generator)
    }

    /// Unread frames beyond this are stale: nobody has the port open (or reads it).
    static let staleBacklogBytes = 2048

    private func emit(_ body: String, spoil requested: Spoil) {
        frameNumber += 1
        // A real port drops what arrives while it is closed; a pty would keep it
        // and hand a gateway that opens late a backlog of old frames (or cut one
        // at the end of a full buffer). Drop the backlog at a frame boundary.
        if terminal.unreadByteCount() > ParkingConcentrator.staleBacklogBytes { terminal.discardUnread() }
        var spoil = requested
        if spoil == .none {
            if let n = settings.dropEvery, n > 0, frameNumber % n == 0 { spoil = .lost }
            else if let n = settings.badChecksumEvery, n > 0, frameNumber % n == 0 { spoil = .badChecksum }
            else if let n = settings.partialEvery, n > 0, frameNumber % n == 0 { spoil = .partial }
        }
        switch spoil {
        case .none:
            terminal.write(Array(ParkingFrame.seal(body).utf8))
        case .badChecksum:
            terminal.write(Array(ParkingFrame.seal(body, badChecksum: true).utf8))
        case .partial:
            // Cut in the middle, then the line ends: one unusable line, the next frame intact.
            let frame = Array(ParkingFrame.seal(body).utf8)
            terminal.write(Array(frame[0..<(frame.count / 2)]) + [0x0D, 0x0A])
        case .lost:
            break
        }
        if noiseBetweenFrames { sendNoise() }
    }
}
