/// The parking detector line protocol of interface.md:
///
///     $PKD,<bay>,<state>,<battery_mV>,<counter>*HH\r\n   state change or repeat
///     $PKH,<bay>,<battery_mV>,<rssi_dBm>,<counter>*HH\r\n heartbeat
///
/// HH is the XOR of every byte between `$` and `*`, two uppercase hex digits.
enum ParkingFrame {
    static func state(bay: String, state: Int, batteryMillivolts: Int, counter: UInt16) -> String {
        seal("PKD,\(bay),\(state),\(batteryMillivolts),\(counter)")
    }

    static func heartbeat(bay: String, batteryMillivolts: Int, rssiDBm: Int, counter: UInt16) -> String {
        seal("PKH,\(bay),\(batteryMillivolts),\(rssiDBm),\(counter)")
    }

    static func checksum(_ body: String) -> UInt8 {
        body.utf8.reduce(0, ^)
    }

    /// `$body*HH\r\n`; `badChecksum` sends a checksum that cannot match.
    static func seal(_ body: String, badChecksum: Bool = false) -> String {
        var sum = checksum(body)
        if badChecksum { sum ^= 0xFF }
        return "$" + body + "*" + hex(sum) + "\r\n"
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
