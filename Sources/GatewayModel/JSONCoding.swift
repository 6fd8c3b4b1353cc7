// Codable to and from `JSONValue`, so Codable messages (the control socket's
// requests and answers) travel as JSON without Foundation's JSONEncoder.
// The text is what JSONEncoder would accept and vice versa: keys are the
// coding keys, `nil` optionals are left out, enums with raw values are their
// raw value, dictionaries with String keys are objects.

/// Encodes a value into a `JSONValue` (and so into JSON text).
public struct JSONValueEncoder {
    public init() {}

    /// - Throws: `JSONError.notRepresentable` for NaN or infinity (JSON has no such numbers).
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let slot = EncodedSlot()
        try value.encode(to: SlotEncoder(slot: slot, codingPath: []))
        return slot.resolved()
    }

    /// Compact JSON text as UTF-8 bytes.
    public func encodeBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try encode(value).text.utf8)
    }
}

/// Decodes a value from a `JSONValue` or JSON text. Members the type does not
/// know are ignored (as JSONDecoder does); missing ones and wrong kinds throw
/// `JSONError` naming where.
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: []))
    }

    /// - Throws: `JSONError.syntax` when the bytes are not JSON, else as `decode(_:from:)` with a value.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: JSONValue.parse(bytes))
    }
}

/// `status.buses[0].pollsOK`: where in a message a problem is, for people.
func pathText(_ codingPath: [CodingKey]) -> String {
    var out = ""
    for key in codingPath {
        if let i = key.intValue, key.stringValue == "Index \(i)" || key.stringValue == "\(i)" {
            out += "[\(i)]"
        } else {
            if !out.isEmpty { out += "." }
            out += key.stringValue
        }
    }
    return out
}

struct IndexKey: CodingKey {
    var stringValue: String { "Index \(intValue!)" }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

// MARK: Encoding

/// Where one encoded value goes. Containers hand out slots before they are
/// filled (nested containers, super encoders), so slots are references.
final class EncodedSlot {
    enum Content {
        case empty
        case value(JSONValue)
        case object(ObjectSlots)
        case array(ArraySlots)
    }
    var content: Content = .empty

    func resolved() -> JSONValue {
        switch content {
        // A type that encodes nothing is an empty object, as with JSONEncoder.
        case .empty: return .object(JSONObject())
        case .value(let v): return v
        case .object(let o): return .object(JSONObject(o.entries.map { ($0.key, $0.slot.resolved()) }))
        case .array(let a): return .array(a.items.map { $0.resolved() })
        }
    }

    func objectSlots() -> ObjectSlots {
        if case .object(let o) = content { return o }
        let o = ObjectSlots()
        content = .object(o)
        return o
    }

    func arraySlots() -> ArraySlots {
        if case .array(let a) = content { return a }
        let a = ArraySlots()
        content = .array(a)
        return a
    }
}

final class ObjectSlots {
    var entries: [(key: String, slot: EncodedSlot)] = []

    func slot(_ key: String) -> EncodedSlot {
        if let existing = entries.first(where: { $0.key == key }) {
            existing.slot.content = .empty
            return existing.slot
        }
        let s = EncodedSlot()
        entries.append((key, s))
        return s
    }
}

final class ArraySlots {
    var items: [EncodedSlot] = []

    func next() -> EncodedSlot {
        let s = EncodedSlot()
        items.append(s)
        return s
    }
}

enum ScalarJSON {
    static func double(_ d: Double, _ path: [CodingKey]) throws -> JSONValue {
        guard d.isFinite else { throw JSONError.notRepresentable(path: pathText(path), reason: "\(d) has no JSON form") }
        return .number(JSONText.number(d))
    }

    static func integer<T: BinaryInteger>(_ i: T) -> JSONValue { .number(String(i)) }
}

struct SlotEncoder: Encoder {
    let slot: EncodedSlot
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(ObjectEncoder<Key>(object: slot.objectSlots(), codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        ArrayEncoder(array: slot.arraySlots(), codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        SingleEncoder(slot: slot, codingPath: codingPath)
    }
}

struct SingleEncoder: SingleValueEncodingContainer {
    let slot: EncodedSlot
    var codingPath: [CodingKey]

    mutating func encodeNil() throws { slot.content = .value(.null) }
    mutating func encode(_ value: Bool) throws { slot.content = .value(.bool(value)) }
    mutating func encode(_ value: String) throws { slot.content = .value(.string(value)) }
    mutating func encode(_ value: Double) throws { slot.content = .value(try ScalarJSON.double(value, codingPath)) }
    mutating func encode(_ value: Float) throws { slot.content = .value(try ScalarJSON.double(Double(value), codingPath)) }
    mutating func encode(_ value: Int) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int8) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int16) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int32) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int64) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt8) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt16) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt32) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt64) throws { slot.content = .value(ScalarJSON.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: SlotEncoder(slot: slot, codingPath: codingPath))
    }
}

struct ObjectEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectSlots
    var codingPath: [CodingKey]

    private func put(_ v: JSONValue, _ key: Key) { object.slot(key.stringValue).content = .value(v) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try ScalarJSON.double(value, codingPath + [key]), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(try ScalarJSON.double(Double(value), codingPath + [key]), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(ScalarJSON.integer(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: SlotEncoder(slot: object.slot(key.stringValue), codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(ObjectEncoder<NestedKey>(object: object.slot(key.stringValue).objectSlots(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        ArrayEncoder(array: object.slot(key.stringValue).arraySlots(), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder {
        SlotEncoder(slot: object.slot("super"), codingPath: codingPath + [NameKey("super")])
    }

    mutating func superEncoder(forKey key: Key) -> Encoder {
        SlotEncoder(slot: object.slot(key.stringValue), codingPath: codingPath + [key])
    }
}

struct ArrayEncoder: UnkeyedEncodingContainer {
    let array: ArraySlots
    var codingPath: [CodingKey]
    var count: Int { array.items.count }

    private func put(_ v: JSONValue) { array.next().content = .value(v) }
    private var nextPath: [CodingKey] { codingPath + [IndexKey(count)] }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try ScalarJSON.double(value, nextPath)) }
    mutating func encode(_ value: Float) throws { put(try ScalarJSON.double(Double(value), nextPath)) }
    mutating func encode(_ value: Int) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int8) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int16) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int32) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: Int64) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt8) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt16) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt32) throws { put(ScalarJSON.integer(value)) }
    mutating func encode(_ value: UInt64) throws { put(ScalarJSON.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try value.encode(to: SlotEncoder(slot: array.next(), codingPath: path))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return KeyedEncodingContainer(ObjectEncoder<NestedKey>(object: array.next().objectSlots(), codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let path = nextPath
        return ArrayEncoder(array: array.next().arraySlots(), codingPath: path)
    }

    mutating func superEncoder() -> Encoder {
        let path = nextPath
        return SlotEncoder(slot: array.next(), codingPath: path)
    }
}

// MARK: Decoding

/// Reads scalars out of a `JSONValue`, with the checks JSONDecoder makes.
enum ScalarReader {
    static func bool(_ v: JSONValue, _ path: [CodingKey]) throws -> Bool {
        guard case .bool(let b) = v else { throw mismatch("true or false", v, path) }
        return b
    }

    static func string(_ v: JSONValue, _ path: [CodingKey]) throws -> String {
        guard case .string(let s) = v else { throw mismatch("a string", v, path) }
        return s
    }

    static func double(_ v: JSONValue, _ path: [CodingKey]) throws -> Double {
        guard case .number(let n) = v else { throw mismatch("a number", v, path) }
        guard let d = Double(n), d.isFinite else { throw JSONError.numberOutOfRange(path: pathText(path), number: n, type: "a 64-bit float") }
        return d
    }

    /// Integers: exact digits when written as such; `12.0` or `1e3` when the value is a whole number in range.
    static func integer<T: FixedWidthInteger>(_ v: JSONValue, _ path: [CodingKey], as type: T.Type) throws -> T {
        guard case .number(let n) = v else { throw mismatch(T.isSigned ? "an integer" : "a whole number of 0 or more", v, path) }
        if let i = T(n) { return i }
        if let d = Double(n), d == d.rounded(.towardZero), let i = T(exactly: d) { return i }
        throw JSONError.numberOutOfRange(path: pathText(path), number: n, type: "\(T.self)")
    }

    static func mismatch(_ expected: String, _ found: JSONValue, _ path: [CodingKey]) -> JSONError {
        .typeMismatch(path: pathText(path), expected: expected, found: found.kindText)
    }
}

struct ValueDecoder: Decoder {
    let value: JSONValue
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw ScalarReader.mismatch("an object", value, codingPath) }
        return KeyedDecodingContainer(ObjectDecoder<Key>(object: o, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw ScalarReader.mismatch("an array", value, codingPath) }
        return ArrayDecoder(items: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        SingleDecoder(value: value, codingPath: codingPath)
    }
}

struct SingleDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    var codingPath: [CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try ScalarReader.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try ScalarReader.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try ScalarReader.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try ScalarReader.double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: UInt.Type) throws -> UInt { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try ScalarReader.integer(value, codingPath, as: type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: ValueDecoder(value: value, codingPath: codingPath)) }
}

struct ObjectDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    var codingPath: [CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let v = object[key.stringValue] else { throw JSONError.missingKey(path: pathText(codingPath), key: key.stringValue) }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try ScalarReader.bool(member(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try ScalarReader.string(member(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try ScalarReader.double(member(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try ScalarReader.double(member(key), codingPath + [key])) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try ScalarReader.integer(member(key), codingPath + [key], as: type) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: ValueDecoder(value: member(key), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath + [NameKey("super")])
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct ArrayDecoder: UnkeyedDecodingContainer {
    let items: [JSONValue]
    var codingPath: [CodingKey]
    var currentIndex = 0

    init(items: [JSONValue], codingPath: [CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> (JSONValue, [CodingKey]) {
        let path = codingPath + [IndexKey(currentIndex)]
        guard !isAtEnd else {
            throw JSONError.typeMismatch(path: pathText(path), expected: "another element", found: "the end of the array")
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (v, p) = try next(); return try ScalarReader.bool(v, p) }
    mutating func decode(_ type: String.Type) throws -> String { let (v, p) = try next(); return try ScalarReader.string(v, p) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (v, p) = try next(); return try ScalarReader.double(v, p) }
    mutating func decode(_ type: Float.Type) throws -> Float { let (v, p) = try next(); return Float(try ScalarReader.double(v, p)) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (v, p) = try next(); return try ScalarReader.integer(v, p, as: type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, p) = try next()
        return try T(from: ValueDecoder(value: v, codingPath: p))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, p) = try next()
        return try ValueDecoder(value: v, codingPath: p).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (v, p) = try next()
        return try ValueDecoder(value: v, codingPath: p).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let (v, p) = try next()
        return ValueDecoder(value: v, codingPath: p)
    }
}
