#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Simulated time: starts at `--start-time` and runs `--time-scale` times
/// faster than the monotonic clock, so a wall-clock step on the host never
/// makes the simulated meters jump.
struct SimulatedClock {
    let startEpochMilliseconds: Int64
    let timeScale: Double
    let startMonotonicNanoseconds: UInt64

    init(startEpochMilliseconds: Int64, timeScale: Double) {
        self.startEpochMilliseconds = startEpochMilliseconds
        self.timeScale = timeScale
        self.startMonotonicNanoseconds = SimulatedClock.monotonicNanoseconds()
    }

    /// Wall seconds since the simulator started (monotonic).
    func elapsedWallSeconds() -> Double {
        Double(SimulatedClock.monotonicNanoseconds() &- startMonotonicNanoseconds) / 1e9
    }

    /// Simulated seconds since the Unix epoch, now.
    func nowSeconds() -> Double {
        simulatedSeconds(afterWallSeconds: elapsedWallSeconds())
    }

    /// Simulated seconds since the epoch at a given wall offset from the start.
    func simulatedSeconds(afterWallSeconds wall: Double) -> Double {
        Double(startEpochMilliseconds) / 1000 + wall * timeScale
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func wallEpochMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
