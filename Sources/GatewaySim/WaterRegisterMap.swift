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
    let inlet: MeteredInlet

    init(unitID: UInt8, network: WaterNetworkModel, startSeconds: Double) {
        inlet = MeteredInlet(unitID: unitID, network: network, startVolumeLitres: WaterRegisterMap.startVolumeLitres,
                             startSeconds: startSeconds)
    }

    func reset(_ mapping: RegisterMapping) {
        for a in layout.holdingRegisters { mapping[.holding, a] = 0 }
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {
        let flow = inlet.flowM3h(atSeconds: t)
        let litres = inlet.volumeLitres(atSeconds: t)
        mapping.setFloat32(.holding, Address.flow, flow)
        mapping.setUInt32(.holding, Address.volume, UInt32(UInt64(litres) & 0xFFFF_FFFF))
        mapping[.holding, Address.status] = 0
        mapping.setFloat32(.holding, Address.flowLittleWords, flow, wordOrderBig: false)
    }
}
