import GatewayModel

/// The words the config accepts for enumerated keys, and their aliases.
///
/// Every enumerated value goes through `canonical(_:in:)`, the one place
/// where aliases are resolved:
///
/// - comparison ignores case, and `_`, `-` and spaces are the same
///   (`Modbus_TCP` = `modbus-tcp`, `water-meter` = `water_meter`);
/// - bus `type`: `tcp` = `modbus-tcp`, `rtu` = `modbus-rtu`, `serial` = `serial-line`;
/// - point `table`: `holding_register(s)`/`hr`, `input_register(s)`/`ir`, `coils`,
///   `discrete_input(s)`/`di`;
/// - point `type`: `float` = `float32`, `double` = `float64`, `boolean` = `bool`;
/// - `parity`: `n`, `e`, `o`;
/// - `byte_order` / `word_order`: `big` (also `be`, `big-endian`, `AB`), `little`
///   (`le`, `little-endian`, `BA`), and the four-letter forms tools like
///   Telegraf and Modbus Poll use, which set both orders at once (A is the
///   most significant byte of a 32-bit value):
///
///   | spelling | word order | byte order |
///   |---|---|---|
///   | `ABCD` | big | big |
///   | `CDAB` | little | big |
///   | `BADC` | big | little |
///   | `DCBA` | little | little |
enum ConfigVocabulary: CaseIterable {
    case busType, parity, serialProtocol, durability, replayOrder, deviceKind, registerTable, pointType, registerOrder, clockTrust

    /// The canonical spellings, as written in the docs and by `config show`.
    var words: [String] {
        switch self {
        case .busType: return BusType.allCases.map(\.rawValue)
        case .parity: return Parity.allCases.map(\.rawValue)
        case .serialProtocol: return SerialLineProtocol.allCases.map(\.rawValue)
        case .durability: return Durability.allCases.map(\.rawValue)
        case .clockTrust: return ClockTrust.allCases.map(\.rawValue)
        case .replayOrder: return ReplayOrder.allCases.map(\.rawValue)
        case .deviceKind: return DeviceKind.allCases.map(\.rawValue)
        case .registerTable: return RegisterTable.allCases.map(\.rawValue)
        case .pointType: return PointType.allCases.map(\.rawValue)
        case .registerOrder: return ["big", "little", "ABCD", "CDAB", "BADC", "DCBA"]
        }
    }

    /// Extra spellings, already in folded form (see `fold`).
    private var aliases: [String: String] {
        switch self {
        case .busType: return ["tcp": "modbus-tcp", "modbustcp": "modbus-tcp", "rtu": "modbus-rtu",
                               "modbusrtu": "modbus-rtu", "serial": "serial-line"]
        case .parity: return ["n": "none", "e": "even", "o": "odd"]
        case .registerTable: return ["holding-register": "holding", "holding-registers": "holding", "hr": "holding",
                                     "input-register": "input", "input-registers": "input", "ir": "input",
                                     "coils": "coil", "discrete-input": "discrete", "discrete-inputs": "discrete",
                                     "di": "discrete"]
        case .pointType: return ["float": "float32", "double": "float64", "boolean": "bool"]
        case .registerOrder: return ["be": "big", "big-endian": "big", "ab": "big",
                                     "le": "little", "little-endian": "little", "ba": "little",
                                     "abcd": "ABCD", "cdab": "CDAB", "badc": "BADC", "dcba": "DCBA"]
        default: return [:]
        }
    }

    /// What a message calls the list, e.g. `bus type`.
    var noun: String {
        switch self {
        case .busType: return "bus type"
        case .parity: return "parity"
        case .serialProtocol: return "serial-line protocol"
        case .durability: return "durability"
        case .clockTrust: return "clock trust rule"
        case .replayOrder: return "replay order"
        case .deviceKind: return "device kind"
        case .registerTable: return "register table"
        case .pointType: return "point type"
        case .registerOrder: return "byte/word order"
        }
    }

    /// The one normalising function: the canonical word for `raw`, or nil.
    func canonical(_ raw: String) -> String? {
        let folded = ConfigVocabulary.fold(raw)
        if let word = words.first(where: { ConfigVocabulary.fold($0) == folded }) { return word }
        return aliases[folded]
    }

    /// The message for a word that is not in the list, with a suggestion.
    func rejection(_ raw: String) -> String {
        var message = "unknown \(noun) \(ConfigValue.quote(raw))"
        if let guess = Spelling.closest(to: raw, among: words) { message += " (did you mean \"\(guess)\"?)" }
        return message + "; use \(Spelling.list(words.map { "\"\($0)\"" }))"
    }

    /// Lower case, with `_` and spaces as `-`, trimmed.
    static func fold(_ raw: String) -> String {
        String(raw.lowercased().map { $0 == "_" || $0 == " " ? "-" : $0 }).trimming("-")
    }
}

/// Word and byte order of a point after aliases are resolved.
struct RegisterOrder: Equatable {
    var word: ByteOrder?
    var byte: ByteOrder?

    init(word: ByteOrder?, byte: ByteOrder?) {
        self.word = word
        self.byte = byte
    }

    /// The orders a canonical `registerOrder` word fixes, given the key it was written under.
    init(canonical: String, writtenAs key: String) {
        switch canonical {
        case "ABCD": word = .big; byte = .big
        case "CDAB": word = .little; byte = .big
        case "BADC": word = .big; byte = .little
        case "DCBA": word = .little; byte = .little
        default:
            let order: ByteOrder = canonical == "little" ? .little : .big
            if key == "word_order" { word = order } else { byte = order }
        }
    }
}

extension String {
    func trimming(_ set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
