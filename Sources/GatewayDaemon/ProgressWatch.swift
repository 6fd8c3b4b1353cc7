import Drivers
import GatewayModel

/// How long each part of the gateway may go without a sign of life before the
/// watchdog calls it stalled. Windows come from the configuration: a bus thread
/// blocked in a libmodbus call for its whole response timeout is still working,
/// so its window covers the slowest poll it can legitimately make.
enum ProgressWindows {
    /// Slack for scheduling delays on a loaded 2-core box.
    static let slackNanoseconds: UInt64 = 5_000_000_000
    /// The store connection's `busy_timeout` (BufferStore sets 5000 ms).
    static let storeBusyTimeoutNanoseconds: UInt64 = 5_000_000_000

    /// A Modbus bus wakes at least once a second and marks progress after each
    /// device poll; one poll is at most one request per point (fewer when
    /// registers are merged), each up to timeout + turnaround, plus a reconnect
    /// that libmodbus bounds by the same timeout.
    static func bus(_ bus: BusConfiguration, devices: [DeviceConfiguration]) -> UInt64 {
        let perTransaction = UInt64(max(0, bus.timeout.nanoseconds)) + UInt64(max(0, bus.turnaroundDelay.nanoseconds))
        switch bus.type {
        case .serialLine:
            // The line loop publishes its status every pass; a pass waits at most for one read timeout.
            return 2 * slackNanoseconds + perTransaction
        case .modbusTCP, .modbusRTU:
            let requests = UInt64(devices.filter { $0.bus == bus.name }.map { max(1, $0.points.count) }.max() ?? 1)
            return 1_000_000_000 + slackNanoseconds + perTransaction * (requests + 1)
        }
    }

    /// The writer wakes at least once a second; a commit that meets a lock waits
    /// the busy timeout once, then the round is retried.
    static func writer(_ buffer: BufferSettings) -> UInt64 {
        2 * storeBusyTimeoutNanoseconds + UInt64(max(0, buffer.commitMaxDelay.nanoseconds))
    }

    /// The uplink loop wakes at least once a second and never blocks on the network
    /// (libmosquitto runs non-blocking); its backlog reads are short SQLite reads.
    static func uplink(_ uplink: UplinkSettings) -> UInt64 {
        2 * slackNanoseconds + UInt64(max(0, uplink.batchMaxDelay.nanoseconds))
    }
}

/// A part of the gateway that made no progress within its window.
struct Stall: Equatable, CustomStringConvertible {
    var part: String
    var silentNanoseconds: UInt64
    var windowNanoseconds: UInt64

    var description: String {
        "\(part) made no progress for \(silentNanoseconds / 1_000_000_000) s (allowed \(windowNanoseconds / 1_000_000_000) s)"
    }
}

enum ProgressCheck {
    /// Every stalled part in `snapshot` at monotonic time `now`. A part that has
    /// not reported yet (progress 0: its thread is just starting) is not judged.
    static func stalls(in snapshot: RuntimeSnapshot, nowNanoseconds now: UInt64) -> [Stall] {
        var out: [Stall] = []
        func judge(_ part: String, _ last: UInt64, _ window: UInt64) {
            guard last > 0, now > last, now - last > window else { return }
            out.append(Stall(part: part, silentNanoseconds: now - last, windowNanoseconds: window))
        }
        let c = snapshot.configuration
        if let w = snapshot.writer {
            judge("store writer", w.lastProgressMonotonicNanoseconds, ProgressWindows.writer(c.buffer))
        }
        for b in snapshot.buses {
            guard let bus = c.buses.first(where: { $0.name == b.name }) else { continue }
            judge("bus \(b.name)", b.lastProgressMonotonicNanoseconds, ProgressWindows.bus(bus, devices: c.devices))
        }
        if let u = snapshot.uplink, let settings = c.uplink {
            judge("uplink", u.lastProgressMonotonicNanoseconds, ProgressWindows.uplink(settings))
        }
        return out
    }
}

/// The store writer's progress seen from outside: devices answered (readings
/// were handed to the store) but nothing was committed within the writer's
/// window. This catches a writer that loops without committing, e.g. while
/// another process holds the buffer's write lock.
struct CommitWatch {
    private var lastCommitted: UInt64 = 0
    private var lastChangeNanoseconds: UInt64 = 0
    private var pollsAtChange: UInt64 = 0

    mutating func check(_ s: RuntimeSnapshot, nowNanoseconds now: UInt64) -> Stall? {
        guard let w = s.writer else { return nil }
        // A full disk is not a stall: the writer holds readings in memory and retries, and a
        // restart would lose what it holds without fixing the disk. Start over once it has room.
        if w.diskFull {
            lastChangeNanoseconds = 0
            return nil
        }
        let polls = s.buses.flatMap(\.devices).reduce(UInt64(0)) { $0 &+ $1.pollsOK }
        // A commit, the first look, or counters restarted by a reload: start over from here.
        if w.recordsCommitted != lastCommitted || lastChangeNanoseconds == 0 || polls < pollsAtChange {
            lastCommitted = w.recordsCommitted
            lastChangeNanoseconds = now
            pollsAtChange = polls
            return nil
        }
        let window = ProgressWindows.writer(s.configuration.buffer)
        guard polls > pollsAtChange, now > lastChangeNanoseconds, now - lastChangeNanoseconds > window else { return nil }
        return Stall(part: "store writer", silentNanoseconds: now - lastChangeNanoseconds, windowNanoseconds: window)
    }
}
