import GatewayModel

/// Built-in register maps for common meters and sensors, so a device can say
/// `profile = "eastron-sdm120"` instead of listing its points.
///
/// The reader expands a profile into `DeviceConfiguration.points` (and keeps
/// `profile` set), so drivers never need to know profiles exist.
public enum DeviceProfiles {
    /// The profile names, sorted.
    public static var names: [String] { profiles.keys.sorted() }

    /// The points of a profile, or nil for an unknown name.
    public static func points(for name: String) -> [PointConfiguration]? { profiles[name]?.points }

    /// The device kind a profile implies when the device does not say `kind`.
    public static func kind(for name: String) -> DeviceKind? { profiles[name]?.kind }

    struct Profile {
        var kind: DeviceKind
        var points: [PointConfiguration]
    }

    private static func float32Input(_ name: String, _ address: Int, _ unit: String) -> PointConfiguration {
        PointConfiguration(name: name, table: .input, address: address, type: .float32, unit: unit)
    }

    static let profiles: [String: Profile] = [
        // Eastron SDM120-Modbus single-phase meter. Source: Eastron, "SDM120-Modbus
        // Smart Meter Modbus Protocol Implementation V2.x", input registers (function
        // code 04), IEEE 754 float32, high word first: 30001 voltage, 30007 current,
        // 30013 active power, 30019 apparent power, 30031 power factor, 30071
        // frequency, 30073 import / 30075 export active energy, 30343 total active
        // energy (register 3xxxx - 30001 = protocol address).
        "eastron-sdm120": Profile(kind: .electricityMeter, points: [
            float32Input("voltage", 0x0000, "V"),
            float32Input("current", 0x0006, "A"),
            float32Input("active_power", 0x000C, "W"),
            float32Input("apparent_power", 0x0012, "VA"),
            float32Input("power_factor", 0x001E, ""),
            float32Input("frequency", 0x0046, "Hz"),
            float32Input("import_energy", 0x0048, "kWh"),
            float32Input("export_energy", 0x004A, "kWh"),
            float32Input("total_energy", 0x0156, "kWh"),
        ]),
        // Eastron SDM630-Modbus three-phase meter. Source: Eastron, "SDM630 Modbus
        // Protocol" (SDM630-Modbus V2 register map), input registers, float32 high
        // word first: 30001/30003/30005 phase 1-3 line-to-neutral voltage, 30007/
        // 30009/30011 phase currents, 30013/30015/30017 phase active power, 30053
        // total system power, 30071 frequency, 30073/30075 import/export active
        // energy, 30343 total active energy.
        "eastron-sdm630": Profile(kind: .electricityMeter, points: [
            float32Input("voltage_l1", 0x0000, "V"),
            float32Input("voltage_l2", 0x0002, "V"),
            float32Input("voltage_l3", 0x0004, "V"),
            float32Input("current_l1", 0x0006, "A"),
            float32Input("current_l2", 0x0008, "A"),
            float32Input("current_l3", 0x000A, "A"),
            float32Input("power_l1", 0x000C, "W"),
            float32Input("power_l2", 0x000E, "W"),
            float32Input("power_l3", 0x0010, "W"),
            float32Input("total_power", 0x0034, "W"),
            float32Input("frequency", 0x0046, "Hz"),
            float32Input("import_energy", 0x0048, "kWh"),
            float32Input("export_energy", 0x004A, "kWh"),
            float32Input("total_energy", 0x0156, "kWh"),
        ]),
        // The `water` unit of `gateway-sim modbus` (Sources/GatewaySim/README.md): a
        // district inlet flow meter. Holding 0-1 flow float32 m3/h, holding 2-3 the
        // totaliser in litres (uint32), holding 4 a status word (0 = ok).
        "sim-water-meter": Profile(kind: .waterMeter, points: [
            PointConfiguration(name: "flow_m3h", table: .holding, address: 0, type: .float32, unit: "m3/h"),
            PointConfiguration(name: "volume_m3", table: .holding, address: 2, type: .uint32, scale: 0.001, unit: "m3"),
            PointConfiguration(name: "status", table: .holding, address: 4, type: .uint16),
        ]),
        // The `pressure` unit of `gateway-sim modbus`: a pressure transmitter on an
        // analog module. Input 0 pressure in hundredths of bar (int16), input 1 the
        // 4-20 mA loop current in uA (uint16), input 2 temperature in 0.1 degC (int16).
        "sim-pressure-sensor": Profile(kind: .pressureSensor, points: [
            PointConfiguration(name: "pressure_bar", table: .input, address: 0, type: .int16, scale: 0.01, unit: "bar"),
            PointConfiguration(name: "loop_current_ua", table: .input, address: 1, type: .uint16, unit: "uA"),
            PointConfiguration(name: "temperature_c", table: .input, address: 2, type: .int16, scale: 0.1, unit: "degC"),
        ]),
    ]
}
