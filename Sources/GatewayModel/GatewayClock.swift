#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time as the gateway sees it. Everything that timestamps or schedules takes
/// a clock, so tests can step the wall clock without touching the machine's.
///
/// Scheduling uses the monotonic clock only, so a wall-clock step never
/// shifts poll deadlines; timestamps use the wall clock.
public protocol GatewayClock: Sendable {
    /// Milliseconds since the Unix epoch, UTC.
    func wallMilliseconds() -> Int64
    /// Nanoseconds on a clock that never jumps (CLOCK_MONOTONIC).
    func monotonicNanoseconds() -> UInt64
    /// Whether wall time can be trusted (NTP synchronised, or a plausible year).
    func isWallClockTrusted() -> Bool
}

/// The real clocks of the box.
public struct SystemClock: GatewayClock {
    /// Before this instant (2024-01-01) a box without RTC has certainly not synchronised.
    public var earliestTrustedMilliseconds: Int64
    public var trust: ClockTrust
    /// The flag file systemd-timesyncd creates once it has synchronised.
    public var timesyncFlagPath = "/run/systemd/timesync/synchronized"

    public init(trust: ClockTrust = .plausibleYear, earliestTrustedMilliseconds: Int64 = 1_704_067_200_000) {
        self.trust = trust
        self.earliestTrustedMilliseconds = earliestTrustedMilliseconds
    }

    public func wallMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func monotonicNanoseconds() -> UInt64 {
        SystemClock.monotonicNow()
    }

    public static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public func isWallClockTrusted() -> Bool {
        switch trust {
        case .always: return true
        case .plausibleYear: return wallMilliseconds() >= earliestTrustedMilliseconds
        case .timesyncd: return access(timesyncFlagPath, F_OK) == 0
        }
    }
}
