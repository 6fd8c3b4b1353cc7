#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pressure transmitter on an analog input module: input registers 0–2.
final class PressureRegisterMap: RegisterMap {
    enum Address {
        static let pressure = 0     // int16, hundredths of bar
        static let loopCurrent = 1  // uint16, µA, 4000–20000 over 0–10 bar
        static let temperature = 2  // int16, tenths of °C
    }

    static let fullScaleBar = 10.0

    let layout = RegisterLayout(inputRegisters: 0..<3)
    private let network: WaterNetworkModel
    private let pressureNoise: SmoothNoise
    private let temperatureNoise: SmoothNoise

    init(unitID: UInt8, network: WaterNetworkModel) {
        self.network = network
        pressureNoise = SmoothNoise(seed: network.seed, unitID: unitID, channel: 50, knotSeconds: 15)
        temperatureNoise = SmoothNoise(seed: network.seed, unitID: unitID, channel: 51, knotSeconds: 600)
    }

    func reset(_ mapping: RegisterMapping) {
        for a in layout.inputRegisters { mapping[.input, a] = 0 }
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {
        let bar = min(PressureRegisterMap.fullScaleBar, network.pressureBar(atSeconds: t, noise: pressureNoise.value(atSeconds: t)))
        mapping.setInt16(.input, Address.pressure, Int((bar * 100).rounded()))
        mapping[.input, Address.loopCurrent] = UInt16((4000 + bar / PressureRegisterMap.fullScaleBar * 16000).rounded())
        // Mains water: about 12 °C, a degree warmer in the afternoon.
        let hour = SimulatedInstant(seconds: t).hourOfDay
        let celsius = 12 + cos((hour - 15) / 24 * 2 * Double.pi) + 0.2 * temperatureNoise.value(atSeconds: t)
        mapping.setInt16(.input, Address.temperature, Int((celsius * 10).rounded()))
    }
}
