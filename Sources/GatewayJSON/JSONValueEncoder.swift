/// Encodes an `Encodable` value as a `JSONValue`. Like Foundation's JSONEncoder,
/// an optional member that is nil is left out, and a NaN or infinite number is
/// refused (`EncodingError.invalidValue`): JSON has no form for it.
public struct JSONValueEncoder {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = EncodingNode()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        return root.resolved()
    }
}

/// A value under construction. Containers hand out child nodes before their
/// values are known (nested containers, super encoders), so the tree is built
/// from references and turned into a `JSONValue` at the end.
private final class EncodingNode {
    enum Content {
        case empty
        case value(JSONValue)
        case object([(key: String, node: EncodingNode)])
        case array([EncodingNode])
    }

    var content: Content = .empty

    func resolved() -> JSONValue {
        switch content {
        // A type that asked for a container and put nothing in it, as JSONEncoder writes it.
        case .empty: return .object([])
        case .value(let v): return v
        case .object(let members): return .object(members.map { JSONMember($0.key, $0.node.resolved()) })
        case .array(let elements): return .array(elements.map { $0.resolved() })
        }
    }

    /// The node for `key` of an object (a second encode of the same key replaces the first).
    func member(_ key: String) -> EncodingNode {
        let child = EncodingNode()
        guard case .object(var members) = content else {
            content = .object([(key, child)])
            return child
        }
        content = .empty  // let `members` be the only reference while it changes
        if let i = members.firstIndex(where: { $0.key == key }) { members[i].node = child } else { members.append((key, child)) }
        content = .object(members)
        return child
    }

    func element() -> EncodingNode {
        let child = EncodingNode()
        guard case .array(var elements) = content else {
            content = .array([child])
            return child
        }
        content = .empty
        elements.append(child)
        content = .array(elements)
        return child
    }

    var count: Int {
        if case .array(let elements) = content { return elements.count }
        return 0
    }
}

/// The JSON form of a single value (numbers as their shortest exact text).
private enum Scalar {
    static func number<I: FixedWidthInteger>(_ i: I) -> JSONValue { .number(String(i)) }

    static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ f: F, at path: [CodingKey]) throws -> JSONValue {
        guard f.isFinite else {
            throw EncodingError.invalidValue(f, .init(codingPath: path, debugDescription: "\(f) has no JSON form"))
        }
        return .number(f.description)
    }
}

private struct NodeEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([]) }
        return KeyedEncodingContainer(KeyedNodeEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedNodeEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        SingleNodeEncoder(node: node, codingPath: codingPath)
    }
}

private struct SingleNodeEncoder: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [CodingKey]

    func encodeNil() { node.content = .value(.null) }
    func encode(_ value: Bool) { node.content = .value(.bool(value)) }
    func encode(_ value: String) { node.content = .value(.string(value)) }
    func encode(_ value: Double) throws { node.content = .value(try Scalar.number(value, at: codingPath)) }
    func encode(_ value: Float) throws { node.content = .value(try Scalar.number(value, at: codingPath)) }
    func encode(_ value: Int) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: Int8) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: Int16) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: Int32) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: Int64) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: UInt) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: UInt8) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: UInt16) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: UInt32) { node.content = .value(Scalar.number(value)) }
    func encode(_ value: UInt64) { node.content = .value(Scalar.number(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

/// Keyed and unkeyed containers encode every value through a child node's
/// single-value container, so the number and string rules live in one place.
private struct KeyedNodeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [CodingKey]

    private func child(_ key: Key) -> NodeEncoder {
        NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }

    func encodeNil(forKey key: Key) { child(key).node.content = .value(.null) }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try value.encode(to: child(key)) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        child(key).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer { child(key).unkeyedContainer() }
    func superEncoder() -> Encoder { NodeEncoder(node: node.member("super"), codingPath: codingPath + [JSONIndexKey.superKey]) }
    func superEncoder(forKey key: Key) -> Encoder { child(key) }
}

private struct UnkeyedNodeEncoder: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [CodingKey]
    var count: Int { node.count }

    private func next() -> NodeEncoder {
        let index = node.count
        return NodeEncoder(node: node.element(), codingPath: codingPath + [JSONIndexKey(index)])
    }

    func encodeNil() { next().node.content = .value(.null) }
    func encode<T: Encodable>(_ value: T) throws { try value.encode(to: next()) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { next().unkeyedContainer() }
    func superEncoder() -> Encoder { next() }
}

/// The coding-path key of an array element: "Index 3", as Foundation names it.
struct JSONIndexKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init?(intValue: Int) { self.init(intValue) }

    static let superKey = JSONIndexKey(stringValue: "super")!
}
