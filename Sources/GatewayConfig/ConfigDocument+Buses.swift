import GatewayModel

/// What the `[[bus]]` entries declared, including entries too broken to use,
/// so later checks do not pile "unknown bus" on top of the real problem.
struct DeclaredBuses {
    var configurations: [BusConfiguration] = []
    /// Every name written, with the bus type when it was valid.
    var types: [String: BusType?] = [:]
    var names: [String] = []
}

extension ConfigDocument {
    static let standardBauds = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]

    /// Keys each bus type accepts, besides `name`, `type` and `timeout`.
    static let busKeys: [BusType: [String]] = [
        .modbusTCP: ["host", "port", "turnaround_delay"],
        .modbusRTU: ["device", "baud", "parity", "data_bits", "stop_bits", "turnaround_delay", "rs485"],
        .serialLine: ["protocol", "device", "baud", "parity", "data_bits", "stop_bits", "rs485", "debounce", "heartbeat_timeout"],
    ]
    static let commonBusKeys = ["name", "type", "timeout"]

    func readBuses() -> DeclaredBuses {
        var declared = DeclaredBuses()
        var firstByName: [String: ConfigSection] = [:]
        for section in root.tables("bus") {
            let name = section.requiredString("name", "each bus needs a name that devices refer to, e.g. name = \"rs485-1\"")
            if let name {
                Identifier.check(name, key: "name", in: section, usedIn: "device entries and status output")
                if let first = firstByName[name] {
                    section.report("name", "bus name \(ConfigValue.quote(name)) is already used by \(first.path) (line \(first.line(of: "name")))")
                } else {
                    firstByName[name] = section
                    declared.names.append(name)
                }
            }
            let typeWord = section.has("type")
                ? section.word("type", in: .busType)
                : { section.reportMissing("type", "one of \"modbus-tcp\", \"modbus-rtu\" or \"serial-line\""); return nil }()
            let type = typeWord.flatMap(BusType.init(rawValue:))
            if let name, declared.types[name] == nil { declared.types[name] = .some(type) }
            checkBusKeys(section, type: type)
            if let bus = readBus(section, name: name, type: type), let name, firstByName[name]?.path == section.path {
                declared.configurations.append(bus)
            }
        }
        return declared
    }

    private func checkBusKeys(_ section: ConfigSection, type: BusType?) {
        let everyKey = ConfigDocument.commonBusKeys + BusType.allCases.flatMap { ConfigDocument.busKeys[$0]! }
        guard let type else {
            section.checkKeys(allowed: Array(Set(everyKey)).sorted())
            return
        }
        let allowed = ConfigDocument.commonBusKeys + ConfigDocument.busKeys[type]!
        var misplaced: [String: String] = [:]
        for key in everyKey where !allowed.contains(key) {
            let users = BusType.allCases.filter { ConfigDocument.busKeys[$0]!.contains(key) }.map(\.rawValue)
            misplaced[key] = "only used by \(Spelling.list(users)) buses; this bus is \(type.rawValue)"
        }
        section.checkKeys(allowed: allowed, misplaced: misplaced)
    }

    private func readBus(_ section: ConfigSection, name: String?, type: BusType?) -> BusConfiguration? {
        guard let type else { return nil }
        var bus = BusConfiguration(name: name ?? "", type: type)
        var usable = name != nil
        switch type {
        case .modbusTCP:
            if let host = section.requiredString("host", "the IP address or host name of the Modbus TCP device or gateway") {
                bus.host = host
            } else { usable = false }
            if let port = section.integer("port", range: 1...65_535) { bus.port = port }
        case .modbusRTU, .serialLine:
            if let device = section.requiredString("device", "the serial port, e.g. \"/dev/ttyUSB0\" or a stable \"/dev/serial/by-id/...\" path") {
                bus.device = device
            } else { usable = false }
            if let baud = section.integer("baud") {
                if ConfigDocument.standardBauds.contains(baud) { bus.baud = baud }
                else {
                    section.report("baud", "\(baud) is not a standard baud rate; use one of \(ConfigDocument.standardBauds.map(String.init).joined(separator: ", "))")
                }
            }
            if let parity = section.word("parity", in: .parity) { bus.parity = Parity(rawValue: parity)! }
            if let bits = section.integer("data_bits", range: 5...8) { bus.dataBits = bits }
            if let bits = section.integer("stop_bits", range: 1...2) { bus.stopBits = bits }
            if let rs485 = section.bool("rs485") { bus.rs485 = rs485 }
        }
        if let timeout = section.duration("timeout") { bus.timeout = timeout }
        if let delay = section.duration("turnaround_delay", allowZero: true) { bus.turnaroundDelay = delay }
        if type == .serialLine {
            if section.has("protocol") {
                if let word = section.word("protocol", in: .serialProtocol) { bus.lineProtocol = SerialLineProtocol(rawValue: word) }
                else { usable = false }
            } else {
                section.reportMissing("protocol", "the line protocol the devices speak; the supported one is \"parking\"")
                usable = false
            }
            if let debounce = section.duration("debounce", allowZero: true) { bus.debounce = debounce }
            if let timeout = section.duration("heartbeat_timeout") { bus.heartbeatTimeout = timeout }
        }
        return usable ? bus : nil
    }
}
