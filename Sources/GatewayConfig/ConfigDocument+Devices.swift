import GatewayModel

/// What the `[[device]]` entries declared. `pointNames` is nil for a device
/// whose points could not be determined (e.g. an unknown profile), so
/// detector checks do not report a second, derived problem.
struct DeclaredDevices {
    var configurations: [DeviceConfiguration] = []
    var pointNames: [String: [String]?] = [:]
    var ids: [String] = []
}

extension ConfigDocument {
    static let deviceKeys = ["id", "bus", "kind", "unit_id", "interval", "bay", "profile", "point"]
    static let pointKeys = ["name", "table", "address", "type", "word_order", "byte_order", "scale", "offset", "unit"]

    func readDevices(buses: DeclaredBuses) -> DeclaredDevices {
        var declared = DeclaredDevices()
        var firstByID: [String: ConfigSection] = [:]
        // (bus, bay) → the device section that claimed it first.
        var bays: [String: ConfigSection] = [:]
        for section in root.tables("device") {
            section.checkKeys(allowed: ConfigDocument.deviceKeys)
            let id = section.requiredString("id", "each device needs an id used in MQTT topics, e.g. id = \"inlet-flow-1\"")
            var duplicate = false
            if let id {
                Identifier.check(id, key: "id", in: section, usedIn: "MQTT topics")
                if let first = firstByID[id] {
                    section.report("id", "device id \(ConfigValue.quote(id)) is already used by \(first.path) (line \(first.line(of: "id")))")
                    duplicate = true
                } else {
                    firstByID[id] = section
                    declared.ids.append(id)
                }
            }
            let busName = section.requiredString("bus", "the name of the [[bus]] this device is on")
            var busType: BusType?
            var busKnown = false
            if let busName {
                if let type = buses.types[busName] {
                    busKnown = true
                    busType = type
                } else {
                    section.report("bus", unknownBusMessage(busName, buses: buses))
                }
            }
            let explicitKind = section.word("kind", in: .deviceKind).flatMap(DeviceKind.init(rawValue:))
            let kindWritten = section.has("kind")

            var device = DeviceConfiguration(id: id ?? "", bus: busName ?? "")
            var points: [String]?
            var usable = id != nil && busKnown && !(kindWritten && explicitKind == nil)
            switch busType {
            case .serialLine:
                device.kind = explicitKind ?? .parkingDetector
                if device.kind != .parkingDetector {
                    section.report("kind", "a device on serial-line bus \(ConfigValue.quote(busName ?? "")) must be a parking_detector (the only serial-line protocol is parking); found \(ConfigValue.quote(device.kind.rawValue))")
                    usable = false
                }
                for key in ["unit_id", "interval", "point"] where section.has(key) {
                    section.report(key, "only used by Modbus devices; parking detectors push their own frames, so remove \(key)")
                }
                if section.has("profile"), let profile = section.string("profile") {
                    if DeviceProfiles.lineProfiles[profile] != nil {
                        device.profile = profile
                    } else {
                        section.report("profile", "\(ConfigValue.quote(profile)) is not a parking detector profile; a device on a serial-line bus takes profile = \"\(DeviceProfiles.lineProfileNames.joined(separator: "\" or \""))\" or none")
                        usable = false
                    }
                }
                if let bay = section.requiredString("bay", "the detector's bay id as it appears in its frames, e.g. bay = \"A-017\"") {
                    if let problem = ConfigDocument.bayProblem(bay) {
                        section.report("bay", problem)
                        usable = false
                    } else {
                        device.bay = bay
                        let claim = (busName ?? "") + "\u{1F}" + bay
                        if let first = bays[claim] {
                            section.report("bay", "bay \(ConfigValue.quote(bay)) on bus \(ConfigValue.quote(busName ?? "")) is already used by \(first.path) (line \(first.line(of: "bay"))); each detector needs its own device entry")
                        } else {
                            bays[claim] = section
                        }
                    }
                } else { usable = false }
                points = ParkingPointNames.all
            case .modbusTCP, .modbusRTU:
                if explicitKind == .parkingDetector {
                    section.report("kind", "a parking_detector must be on a serial-line bus; bus \(ConfigValue.quote(busName ?? "")) is \(busType!.rawValue)")
                    usable = false
                }
                if section.has("bay") {
                    section.report("bay", "only used by parking detectors on a serial-line bus; remove bay")
                }
                let modbus = readModbusDevice(section, explicitKind: explicitKind)
                device.unitID = modbus.unitID
                device.interval = modbus.interval
                device.profile = modbus.profile
                device.points = modbus.points
                device.kind = modbus.kind
                points = modbus.pointNames
                usable = usable && modbus.usable
            case nil:
                // The bus is unknown or broken: still check what can be checked on its own.
                let modbus = readModbusDevice(section, explicitKind: explicitKind, requirePoints: false)
                points = modbus.pointNames
                if let bay = section.string("bay"), let problem = ConfigDocument.bayProblem(bay) { section.report("bay", problem) }
            }
            if let id, !duplicate { declared.pointNames[id] = .some(points) }
            if usable && !duplicate { declared.configurations.append(device) }
        }
        return declared
    }

    private func unknownBusMessage(_ name: String, buses: DeclaredBuses) -> String {
        var message = "no [[bus]] is named \(ConfigValue.quote(name))"
        if buses.names.isEmpty { return message + "; declare the bus in a [[bus]] table first" }
        if let guess = Spelling.closest(to: name, among: buses.names) { return message + " (did you mean \"\(guess)\"?)" }
        message += "; declared buses: " + buses.names.joined(separator: ", ")
        return message
    }

    /// The protocol's bay ids: 1–32 of `A-Z a-z 0-9 _ -`.
    static func bayProblem(_ bay: String) -> String? {
        let ok = !bay.isEmpty && bay.unicodeScalars.count <= 32 && bay.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "-" || s == "_"
        }
        return ok ? nil : "\(ConfigValue.quote(bay)) is not a bay id; detectors send 1–32 characters of letters, digits, \"-\" and \"_\""
    }

    private struct ModbusDevice {
        var unitID = 1
        var interval: Duration = .seconds(10)
        var profile: String?
        var points: [PointConfiguration] = []
        var kind: DeviceKind = .generic
        /// nil when the points cannot be known (unknown profile).
        var pointNames: [String]?
        var usable = true
    }

    private func readModbusDevice(_ section: ConfigSection, explicitKind: DeviceKind?, requirePoints: Bool = true) -> ModbusDevice {
        var device = ModbusDevice()
        if let unit = section.integer("unit_id", range: 0...255) { device.unitID = unit }
        if let interval = section.duration("interval") { device.interval = interval }
        let pointSections = section.tables("point")
        let read = readPoints(pointSections)
        var profileKind: DeviceKind?
        let needsPoints = "a Modbus device needs profile = \"...\" or at least one [[device.point]]; built-in profiles: "
            + DeviceProfiles.names.joined(separator: ", ")
        if section.has("profile") {
            if let profile = section.string("profile") {
                if let points = DeviceProfiles.points(for: profile) {
                    device.profile = profile
                    device.points = points
                    device.pointNames = points.map(\.name)
                    profileKind = DeviceProfiles.kind(for: profile)
                } else if DeviceProfiles.lineProfiles[profile] != nil {
                    section.report("profile", "profile \(ConfigValue.quote(profile)) is for parking detectors on a serial-line bus, not Modbus devices")
                    device.usable = false
                } else {
                    var message = "unknown profile \(ConfigValue.quote(profile))"
                    if let guess = Spelling.closest(to: profile, among: DeviceProfiles.names) { message += " (did you mean \"\(guess)\"?)" }
                    section.report("profile", message + "; built-in profiles: " + DeviceProfiles.names.joined(separator: ", "))
                    device.usable = false
                }
            } else {
                device.usable = false
            }
            if section.has("point") {
                section.report("profile", "use either a profile or [[device.point]] entries, not both")
                device.usable = false
                device.pointNames = nil
            }
        } else if section.has("point") {
            device.points = read.points
            device.pointNames = read.names
            device.usable = read.usable
            if pointSections.isEmpty && requirePoints {
                section.report("point", needsPoints)
                device.usable = false
            }
        } else {
            device.pointNames = []
            if requirePoints {
                section.log.report(section.path, needsPoints)
                device.usable = false
            }
        }
        device.kind = explicitKind ?? profileKind ?? .generic
        return device
    }

    private func readPoints(_ sections: [ConfigSection]) -> (points: [PointConfiguration], names: [String], usable: Bool) {
        var points: [(PointConfiguration, ConfigSection)] = []
        var names: [String] = []
        var firstByName: [String: ConfigSection] = [:]
        var usable = true
        for section in sections {
            section.checkKeys(allowed: ConfigDocument.pointKeys)
            guard let point = readPoint(section) else { usable = false; continue }
            if let first = firstByName[point.name] {
                section.report("name", "point name \(ConfigValue.quote(point.name)) is already used by \(first.path) (line \(first.line(of: "name"))) of this device")
                usable = false
                continue
            }
            firstByName[point.name] = section
            names.append(point.name)
            // Two points reading the same register would publish one quantity twice under two names, or decode garbage.
            let span = point.address...(point.address + point.type.registerCount - 1)
            if let (other, otherSection) = points.first(where: { $0.0.table == point.table && $0.0.span.overlaps(span) }) {
                section.report("address", "\(ConfigDocument.describe(span, in: point.table)) of the \(point.table.rawValue) table overlap\(span.count == 1 ? "s" : "") point \(ConfigValue.quote(other.name)) (\(otherSection.path), \(ConfigDocument.describe(other.span, in: other.table)))")
                usable = false
            }
            points.append((point, section))
        }
        return (points.map(\.0), names, usable)
    }

    /// `register 5`, `registers 0–1`, `bit 3`.
    private static func describe(_ span: ClosedRange<Int>, in table: RegisterTable) -> String {
        let noun = table.isBits ? "bit" : "register"
        return span.count == 1 ? "\(noun) \(span.lowerBound)" : "\(noun)s \(span.lowerBound)–\(span.upperBound)"
    }

    private func readPoint(_ section: ConfigSection) -> PointConfiguration? {
        let name = section.requiredString("name", "the point's name in payloads, e.g. name = \"flow_m3h\"")
        if let name { Identifier.check(name, key: "name", in: section, usedIn: "MQTT payloads and replay files") }
        let address: Int?
        if section.has("address") {
            address = section.integer("address", range: 0...65_535)
        } else {
            section.reportMissing("address", "the 0-based protocol address; register 40001 is holding address 0")
            address = nil
        }
        var usable = name != nil && address != nil
        let table: RegisterTable
        if section.has("table") {
            if let word = section.word("table", in: .registerTable) { table = RegisterTable(rawValue: word)! }
            else { table = .holding; usable = false }
        } else {
            table = .holding
        }
        // Coils and discrete inputs are single bits, so they default to bool.
        var type: PointType = table.isBits ? .bool : .uint16
        if section.has("type") {
            if let word = section.word("type", in: .pointType) { type = PointType(rawValue: word)! }
            else { usable = false }
        }
        if table.isBits && type != .bool {
            section.report("type", "type \(ConfigValue.quote(type.rawValue)) cannot be read from the \(table.rawValue) table: coils and discrete inputs hold single bits; use type = \"bool\" or a holding/input register")
            usable = false
        }
        if let address, address + type.registerCount - 1 > 65_535 {
            section.report("address", "a \(type.rawValue) at address \(address) spans \(type.registerCount) registers and runs past the last address 65535")
            usable = false
        }
        guard let order = readOrder(section) else { return nil }
        var point = PointConfiguration(name: name ?? "", table: table, address: address ?? 0, type: type)
        if let word = order.word { point.wordOrder = word }
        if let byte = order.byte { point.byteOrder = byte }
        if let scale = section.number("scale") {
            if scale == 0 { section.report("scale", "a scale of 0 makes every value 0; use 1 for no scaling"); usable = false }
            else { point.scale = scale }
        }
        if let offset = section.number("offset") { point.offset = offset }
        if let unit = section.string("unit") { point.unit = unit }
        return usable ? point : nil
    }

    /// Resolves `word_order` and `byte_order`, either of which may be a four-letter form fixing both.
    private func readOrder(_ section: ConfigSection) -> RegisterOrder? {
        var merged = RegisterOrder(word: nil, byte: nil)
        var setBy: (word: String?, byte: String?) = (nil, nil)
        var ok = true
        for key in ["word_order", "byte_order"] where section.has(key) {
            guard let raw = section.string(key) else { ok = false; continue }
            guard let canonical = ConfigVocabulary.registerOrder.canonical(raw) else {
                section.report(key, ConfigVocabulary.registerOrder.rejection(raw))
                ok = false
                continue
            }
            let order = RegisterOrder(canonical: canonical, writtenAs: key)
            let spelled = "\(key) = \(ConfigValue.quote(raw))"
            if let w = order.word {
                if let existing = merged.word, existing != w, let by = setBy.word {
                    section.report(key, "\(spelled) means word order \(w.rawValue), but \(by) already set it to \(existing.rawValue)")
                    ok = false
                }
                merged.word = w
                setBy.word = spelled
            }
            if let b = order.byte {
                if let existing = merged.byte, existing != b, let by = setBy.byte {
                    section.report(key, "\(spelled) means byte order \(b.rawValue), but \(by) already set it to \(existing.rawValue)")
                    ok = false
                }
                merged.byte = b
                setBy.byte = spelled
            }
        }
        return ok ? merged : nil
    }
}

/// The points every parking detector has (Drivers' `ParkingPoints`): detectors may name these.
enum ParkingPointNames {
    static let all = ["occupancy", "battery_mv", "rssi_dbm"]
}

private extension PointConfiguration {
    var span: ClosedRange<Int> { address...(address + type.registerCount - 1) }
}
