/// A district inlet flow meter: holding registers 0–11.
final class WaterRegisterMap: RegisterMap {
    enum Address {
        static let flow = 0            // float32 m3/h, big-endian words (ABCD)
        static let volume = 2          // uint32 litres, totaliser
        static let status = 4          // uint16, 0 = ok
        static let flowLittleWords = 10 // the same flow, float32 little word order (CDAB)
    }

    static let startVolumeLitres = 12_345_678.0

    let layout = RegisterLayout(holdingRegisters: 0..<12)
    private let unitID: UInt8
    private let network: WaterNetworkModel
    private var volume: Totaliser

    init(unitID: UInt8, network: WaterNetworkModel, startSeconds: Double) {
        self.unitID = unitID
        self.network = network
        network.addMeter(unitID: unitID)
        volume = Totaliser(value: WaterRegisterMap.startVolumeLitres, atSeconds: startSeconds)
    }

    func reset(_ mapping: RegisterMapping) {
        for a in layout.holdingRegisters { mapping[.holding, a] = 0 }
    }

    /// Brings the totaliser up to `t`; the simulation calls this before the leak changes.
    func advanceVolume(to t: Double) {
        let unitID = self.unitID, network = self.network
        // m3/h → litres per second.
        volume.advance(to: t) { s in network.meteredFlowM3h(unitID: unitID, atSeconds: s) / 3.6 }
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {
        let flow = network.meteredFlowM3h(unitID: unitID, atSeconds: t)
        advanceVolume(to: t)
        mapping.setFloat32(.holding, Address.flow, flow)
        mapping.setUInt32(.holding, Address.volume, UInt32(UInt64(volume.value) & 0xFFFF_FFFF))
        mapping[.holding, Address.status] = 0
        mapping.setFloat32(.holding, Address.flowLittleWords, flow, wordOrderBig: false)
    }
}
