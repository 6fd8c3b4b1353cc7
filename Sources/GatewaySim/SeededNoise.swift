#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: the simulator's one source of randomness. Everything random
/// (meter noise, parking events, noise bytes on the line) derives from `--seed`, so a run can
/// be repeated exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededGenerator.mix(state)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Smooth noise as a pure function of simulated time: random values at knots
/// `knotSeconds` apart, blended with a cosine between them. Being a function of
/// time (not of how often someone asks) keeps readings and totalisers
/// consistent and repeatable for a given seed.
struct SmoothNoise: Sendable {
    let seed: UInt64
    let knotSeconds: Double

    /// A stream for one quantity of one unit, so streams never correlate.
    init(seed: UInt64, unitID: UInt8, channel: UInt64, knotSeconds: Double) {
        self.seed = SeededGenerator.mix(seed ^ (UInt64(unitID) << 32) ^ (channel &* 0x1000_0001))
        self.knotSeconds = knotSeconds
    }

    /// A value in -1...1 at simulated time `seconds` (since the epoch).
    func value(atSeconds seconds: Double) -> Double {
        let position = seconds / knotSeconds
        let knot = position.rounded(.down)
        let fraction = position - knot
        let a = knotValue(Int64(knot)), b = knotValue(Int64(knot) + 1)
        let blend = (1 - cos(fraction * Double.pi)) / 2
        return a + (b - a) * blend
    }

    private func knotValue(_ knot: Int64) -> Double {
        let bits = SeededGenerator.mix(seed ^ UInt64(bitPattern: knot) &* 0x9E37_79B9_7F4A_7C15)
        return Double(bits >> 11) / Double(1 << 53) * 2 - 1
    }
}
