/// The register map of a Dynaflox ultraD ultrasonic water meter (its
/// Modbus-RTU register list, "ultraD Series Water Meter Manual", section 5.3):
/// function 03 only, holding registers 0–16, 32-bit values ("long") as two
/// registers, high word first. Served as `--units N=watermeter-ultrad` so the
/// `dynaflox-ultrad` profile is tested against the same map.
final class UltradWaterMeterRegisterMap: RegisterMap {
    enum Address {
        static let flowLitresPerHour = 0    // int32, L/h
        static let forwardVolumeM3 = 2       // int32, whole m3
        static let forwardVolumeML = 4       // int32, mL beyond the whole m3 (0–999 999)
        static let reverseVolumeM3 = 6       // int32, whole m3
        static let reverseVolumeML = 8       // int32, mL
        static let runTimeSeconds = 10       // int32, s
        static let faultTimeSeconds = 12     // int32, s
        static let batteryMillivolts = 14    // int32, mV
        static let errorCode = 16            // int16, 0 = no error
    }

    /// The meter's forward totaliser when the simulation starts (litres).
    static let startVolumeLitres = 4_321_000.0
    /// A healthy lithium cell.
    static let batteryMillivolts = 3_600

    let layout = RegisterLayout(holdingRegisters: 0..<17)
    let inlet: MeteredInlet
    private let startSeconds: Double

    init(unitID: UInt8, network: WaterNetworkModel, startSeconds: Double) {
        self.startSeconds = startSeconds
        inlet = MeteredInlet(unitID: unitID, network: network, startVolumeLitres: UltradWaterMeterRegisterMap.startVolumeLitres,
                             startSeconds: startSeconds)
    }

    func reset(_ mapping: RegisterMapping) {
        for a in layout.holdingRegisters { mapping[.holding, a] = 0 }
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {
        let flow = inlet.flowM3h(atSeconds: t)
        let litres = inlet.volumeLitres(atSeconds: t)
        let wholeM3 = (litres / 1000).rounded(.down)
        let millilitres = ((litres - wholeM3 * 1000) * 1000).rounded(.down)
        setInt32(mapping, Address.flowLitresPerHour, Int((flow * 1000).rounded()))
        setInt32(mapping, Address.forwardVolumeM3, Int(wholeM3))
        setInt32(mapping, Address.forwardVolumeML, Int(millilitres))
        setInt32(mapping, Address.reverseVolumeM3, 0)
        setInt32(mapping, Address.reverseVolumeML, 0)
        setInt32(mapping, Address.runTimeSeconds, Int(max(0, t - startSeconds)))
        setInt32(mapping, Address.faultTimeSeconds, 0)
        setInt32(mapping, Address.batteryMillivolts, UltradWaterMeterRegisterMap.batteryMillivolts)
        mapping[.holding, Address.errorCode] = 0
    }

    private func setInt32(_ mapping: RegisterMapping, _ address: Int, _ value: Int) {
        mapping.setUInt32(.holding, address, UInt32(bitPattern: Int32(clamping: value)))
    }
}
