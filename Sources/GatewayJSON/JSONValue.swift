import GatewayModel

/// A JSON document as a value: what the control socket and `cmd/resend` carry.
///
/// gatewayd reads and writes only these small messages, so it carries its own
/// reader instead of Foundation's JSON coder, which would link
/// FoundationEssentials into the daemon for them (about 0.8 MB resident; issue #8).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number as written, so an integer beyond 2^53 or beyond 64 bits keeps
    /// every digit until someone asks for it as a particular type.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([JSONMember])

    /// The member `key` of an object (the last one, should the document repeat
    /// a key); nil for a missing member or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// The value in words for a message to whoever sent it: "a string",
    /// "the number -5", "null", "true", "an array", "an object".
    public var inWords: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text): return "the number \(text)"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// One `"key": value` of an object.
public struct JSONMember: Equatable, Sendable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

// MARK: - Writing

extension JSONValue {
    /// Compact JSON text (no spaces, no newline: a string's newlines are escaped).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                e.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                m.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

// MARK: - Reading

/// Why some bytes are not one JSON document, and where (a byte offset from 0).
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var problem: String

    public var description: String { "not valid JSON (at byte \(offset): \(problem))" }
}

extension JSONValue {
    /// How deeply arrays and objects may nest. A `cmd/resend` comes from the
    /// network; a document of a million `[` must be refused, not overflow the stack.
    public static let maximumDepth = 64

    /// Reads exactly one JSON document (RFC 8259), with spaces around it allowed.
    /// - Throws: `JSONSyntaxError`.
    public init(parsing bytes: [UInt8]) throws {
        var reader = JSONReader(bytes: bytes)
        self = try reader.document()
    }
}

/// A recursive-descent reader over one document's bytes.
private struct JSONReader {
    let bytes: [UInt8]
    var at = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws -> JSONValue {
        let value = try self.value()
        skipSpace()
        if at < bytes.count { throw failure("text after the document") }
        return value
    }

    private func failure(_ problem: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: at, problem: problem)
    }

    private mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    private mutating func value() throws -> JSONValue {
        skipSpace()
        guard at < bytes.count else { throw failure("the document ends where a value should be") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try nested { try $0.object() }
        case UInt8(ascii: "["): return try nested { try $0.array() }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character")
        }
    }

    private mutating func nested(_ read: (inout JSONReader) throws -> JSONValue) throws -> JSONValue {
        depth += 1
        if depth > JSONValue.maximumDepth { throw failure("nested deeper than \(JSONValue.maximumDepth) levels") }
        defer { depth -= 1 }
        return try read(&self)
    }

    private mutating func object() throws -> JSONValue {
        at += 1  // {
        var members: [JSONMember] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw failure("expected a member name in quotes") }
            let key = try string()
            try expect(UInt8(ascii: ":"), "expected ':' after a member name")
            members.append(JSONMember(key, try value()))
            skipSpace()
            if try endOrComma(UInt8(ascii: "}")) { return .object(members) }
        }
    }

    private mutating func array() throws -> JSONValue {
        at += 1  // [
        var elements: [JSONValue] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
        while true {
            elements.append(try value())
            skipSpace()
            if try endOrComma(UInt8(ascii: "]")) { return .array(elements) }
        }
    }

    /// True after the closing bracket, false after a comma.
    private mutating func endOrComma(_ close: UInt8) throws -> Bool {
        guard at < bytes.count else { throw failure("the document ends inside an array or object") }
        if bytes[at] == close { at += 1; return true }
        if bytes[at] == UInt8(ascii: ",") { at += 1; return false }
        throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))'")
    }

    private mutating func expect(_ byte: UInt8, _ problem: String) throws {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { throw failure(problem) }
        at += 1
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let matches = at + n <= bytes.count && word.withUTF8Buffer { w in (0..<n).allSatisfy { bytes[at + $0] == w[$0] } }
        guard matches else { throw failure("unexpected character") }
        at += n
    }

    private mutating func digits() -> Int {
        let start = at
        while at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") { at += 1 }
        return at - start
    }

    /// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    private mutating func number() throws -> String {
        let start = at
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        let integerStart = at
        guard digits() > 0 else { throw failure("a number needs digits") }
        if bytes[integerStart] == UInt8(ascii: "0"), at - integerStart > 1 {
            throw JSONSyntaxError(offset: integerStart, problem: "a number cannot start with 0")
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { throw failure("a fraction needs digits") }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { throw failure("an exponent needs digits") }
        }
        return String(decoding: bytes[start..<at], as: UTF8.self)
    }

    private mutating func string() throws -> String {
        at += 1  // "
        var text: [UInt8] = []
        while true {
            guard at < bytes.count else { throw failure("the document ends inside a string") }
            let b = bytes[at]
            switch b {
            case UInt8(ascii: "\""):
                at += 1
                guard let s = String(validating: text, as: UTF8.self) else {
                    throw failure("a string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                at += 1
                try escape(into: &text)
            case 0..<0x20:
                throw failure("a control character must be escaped inside a string")
            default:
                text.append(b)
                at += 1
            }
        }
    }

    private mutating func escape(into text: inout [UInt8]) throws {
        guard at < bytes.count else { throw failure("the document ends inside a string") }
        let b = bytes[at]
        at += 1
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(b)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4()
            if (0xD800..<0xDC00).contains(code) {
                // A UTF-16 surrogate pair: \uD83D\uDCA7.
                guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                    throw failure("a lone UTF-16 surrogate")
                }
                at += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("a lone UTF-16 surrogate") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(code) else { throw failure("a lone UTF-16 surrogate") }
            text.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw failure("unknown escape \\\(Character(Unicode.Scalar(b)))")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count else { throw failure("\\u needs four hex digits") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[at]
            let v: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = b - UInt8(ascii: "A") + 10
            default: throw failure("\\u needs four hex digits")
            }
            code = code << 4 | UInt32(v)
            at += 1
        }
        return code
    }
}
