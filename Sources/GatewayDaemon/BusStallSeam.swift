import Drivers
import GatewayModel

/// Test seam for the watchdog: `GATEWAYD_TEST_STALL_BUS=NAME@SECONDS` makes bus
/// NAME's thread block for real in its hand-off to the store, SECONDS after
/// start, as a wedged driver would. The progress check must then stop the
/// WATCHDOG=1 pings. Unset (always, outside tests), buses get the plain sink.
final class StallingSink: ReadingSink, @unchecked Sendable {
    // Invariant: immutable after init except `gate`, which is thread-safe.
    private let inner: ReadingSink
    private let stallAtMonotonic: UInt64
    private let gate = Latch()

    /// The bus name and delay from the environment, if the seam is asked for.
    static func requested(environment: [String: String] = ProcessEnvironment.variables()) -> (bus: String, after: Duration)? {
        guard let value = environment["GATEWAYD_TEST_STALL_BUS"], !value.isEmpty else { return nil }
        let parts = value.split(separator: "@", maxSplits: 1)
        let seconds = parts.count == 2 ? Double(parts[1]) ?? 0 : 0
        return (String(parts[0]), .nanoseconds(Int64(seconds * 1e9)))
    }

    init(wrapping inner: ReadingSink, stallAfter: Duration, clock: GatewayClock) {
        self.inner = inner
        stallAtMonotonic = clock.monotonicNanoseconds() + UInt64(max(0, stallAfter.nanoseconds))
    }

    /// Lets a stalled bus thread go again (at shutdown, so the bus can be joined).
    func release() { gate.open() }

    private func stallIfDue() {
        if SystemClock.monotonicNow() >= stallAtMonotonic { gate.wait() }
    }

    func deliver(readings: [Reading]) {
        stallIfDue()
        inner.deliver(readings: readings)
    }

    func deliver(event: DeviceEvent) {
        stallIfDue()
        inner.deliver(event: event)
    }
}
