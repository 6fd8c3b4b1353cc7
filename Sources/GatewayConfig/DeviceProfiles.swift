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

    /// Profiles for detectors that push frames on a `serial-line` bus rather than
    /// being polled. `parking-pkd` is the `$PKD`/`$PKH` line protocol of
    /// interface.md: a `parking_detector` device may name it (it is also what such
    /// a device gets without naming any), and its points are the fixed ones every
    /// parking detector has: `occupancy` (0 free, 1 occupied, 2 fault),
    /// `battery_mv` and `rssi_dbm`. It carries no register map, so Modbus devices
    /// cannot use it.
    public static let lineProfiles: [String: LineProfile] = [
        "parking-pkd": LineProfile(kind: .parkingDetector, lineProtocol: "parking",
                                   pointNames: ["occupancy", "battery_mv", "rssi_dbm"]),
    ]

    /// A profile for a device on a `serial-line` bus: which protocol it speaks and the points it yields.
    public struct LineProfile: Sendable, Equatable {
        public var kind: DeviceKind
        /// The `protocol` of the `[[bus]]` the device must be on.
        public var lineProtocol: String
        public var pointNames: [String]
    }

    /// The line-protocol profile names (`parking-pkd`), sorted.
    public static var lineProfileNames: [String] { lineProfiles.keys.sorted() }

    /// The point names of a line-protocol profile, or nil if `name` is not one.
    public static func lineProfilePointNames(for name: String) -> [String]? { lineProfiles[name]?.pointNames }

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
        // Dynaflox ultraD ultrasonic water meter (battery powered, RS-485 Modbus-RTU).
        // Source: Dynaflox, "ultraD Series Water Meter Manual", section 5 "Modbus
        // Communication Protocol", 5.3 Register List (function code 03 only, at most
        // 22 registers per read): 0 instantaneous flow L/h, 2 positive cumulative
        // flow integer part m3, 4 its decimal part in mL, 6/8 the negative
        // totaliser, 10 run time s, 12 fault time s, 14 battery mV (each "long",
        // two registers), 16 error code ("int", one register).
        // Assumptions the list leaves open: "long" is a signed 32-bit value, high
        // word first (the manual sends every multi-byte field high byte first), and
        // the meter's display units are the factory m3 and m3/h (a meter set to
        // gallons or L/min reports other units: use points then).
        // The forward total is volume_m3 + volume_fraction_m3 (the meter splits it in
        // two registers; sum them in the consumer, or alarm on volume_m3 alone).
        "dynaflox-ultrad": Profile(kind: .waterMeter, points: [
            PointConfiguration(name: "flow_m3h", table: .holding, address: 0, type: .int32, scale: 0.001, unit: "m3/h"),
            PointConfiguration(name: "volume_m3", table: .holding, address: 2, type: .int32, unit: "m3"),
            PointConfiguration(name: "volume_fraction_m3", table: .holding, address: 4, type: .int32, scale: 0.000_001, unit: "m3"),
            PointConfiguration(name: "reverse_volume_m3", table: .holding, address: 6, type: .int32, unit: "m3"),
            PointConfiguration(name: "battery_mv", table: .holding, address: 14, type: .int32, unit: "mV"),
            PointConfiguration(name: "error_code", table: .holding, address: 16, type: .uint16),
        ]),
        // A 4–20 mA pressure transmitter of range 0–10 bar on input 0 of an Advantech
        // ADAM-4017+ 8-channel analog input module in Modbus-RTU mode. Source:
        // Advantech, "ADAM-4000 Series User Manual", appendix "ADAM-4000 I/O Modbus
        // Mapping Table" (ADAM-4017+: 40001–40008 analog input value of channels 0–7,
        // 40201–40208 type code) and the input range table (code 07 = 4~20 mA).
        // In Modbus mode the module reports a channel as unsigned counts over the
        // configured span, 0 = 4 mA and 65535 = 20 mA, so:
        //   mA  = 4 + counts × 16/65535           (loop_current_ma)
        //   bar = (mA − 4)/16 × 10 = counts × 10/65535   (pressure_bar)
        // Assumptions: channel 0 set to range code 07 (the module ships in ±10 V or
        // ±20 mA; set 07 with Advantech's utility), the transmitter wired to input 0,
        // and a 0–10 bar transmitter. For another channel or range, use points
        // instead of the profile: address = channel (0–7), type = "uint16",
        // scale = (max_bar − min_bar)/65535, offset = min_bar (configs/sample.toml).
        "adam-4017-4-20ma-0-10bar": Profile(kind: .pressureSensor, points: [
            PointConfiguration(name: "pressure_bar", table: .holding, address: 0, type: .uint16, scale: 10.0 / 65535, unit: "bar"),
            PointConfiguration(name: "loop_current_ma", table: .holding, address: 0, type: .uint16, scale: 16.0 / 65535, offset: 4, unit: "mA"),
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
