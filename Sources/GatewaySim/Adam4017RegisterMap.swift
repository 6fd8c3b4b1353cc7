#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An Advantech ADAM-4017+ 8-channel analog input module in Modbus mode
/// (ADAM-4000 Series User Manual, appendix "I/O Modbus Mapping Table"):
/// holding registers 0–7 (40001–40008) hold the channel values, 200–207
/// (40201–40208) each channel's input range code. Every channel is set to
/// range 07 (4–20 mA), whose value is unsigned counts over the span:
/// 0 = 4 mA, 65535 = 20 mA.
///
/// A 0–10 bar pressure transmitter is wired to channel 0 and follows the
/// water network's pressure; channels 1–7 are unwired (an open 4–20 mA loop
/// reads below 4 mA, so the module clamps it to 0 counts). Served as
/// `--units N=ai-adam4017` for the `adam-4017-4-20ma-0-10bar` profile.
final class Adam4017RegisterMap: RegisterMap {
    enum Address {
        static let channelValues = 0   // uint16 counts per channel, 8 channels
        static let rangeCodes = 200    // uint16 range code per channel
    }

    static let channels = 8
    /// Range code 07: 4–20 mA.
    static let rangeCode4To20mA: UInt16 = 0x07
    /// The transmitter on channel 0: 4 mA = 0 bar, 20 mA = 10 bar.
    static let transmitterFullScaleBar = 10.0

    let layout = RegisterLayout(holdingRegisters: 0..<208)
    private let network: WaterNetworkModel
    private let pressureNoise: SmoothNoise

    init(unitID: UInt8, network: WaterNetworkModel) {
        self.network = network
        pressureNoise = SmoothNoise(seed: network.seed, unitID: unitID, channel: 52, knotSeconds: 15)
    }

    func reset(_ mapping: RegisterMapping) {
        for a in layout.holdingRegisters { mapping[.holding, a] = 0 }
        for channel in 0..<Adam4017RegisterMap.channels {
            mapping[.holding, Address.rangeCodes + channel] = Adam4017RegisterMap.rangeCode4To20mA
        }
    }

    /// Counts for a loop current: 4 mA → 0, 20 mA → 65535, clamped like the module's converter.
    static func counts(milliamperes mA: Double) -> UInt16 {
        UInt16(max(0, min(65535, ((mA - 4) / 16 * 65535).rounded())))
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {
        let scale = Adam4017RegisterMap.transmitterFullScaleBar
        let bar = max(0, min(scale, network.pressureBar(atSeconds: t, noise: pressureNoise.value(atSeconds: t))))
        let mA = 4 + bar / scale * 16
        mapping[.holding, Address.channelValues] = Adam4017RegisterMap.counts(milliamperes: mA)
        for channel in 1..<Adam4017RegisterMap.channels { mapping[.holding, Address.channelValues + channel] = 0 }
    }
}
