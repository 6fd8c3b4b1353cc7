// Control messages are Codable values written with Foundation's JSON coder from
// FoundationEssentials: the part of Foundation without ICU or CoreFoundation,
// which gatewayd links anyway through swift-argument-parser. Full Foundation
// (and its ICU data, ~9 MB resident) stays out of the daemon (issue #8).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One control message as one line of JSON, the framing of protocol version 1.
enum ControlMessageLine {
    /// The message as compact JSON plus "\n". JSONEncoder writes no raw newline
    /// (inside strings it escapes them), so the line is the whole message.
    /// - Throws: `EncodingError` for a value with no JSON form (a NaN latency).
    static func encode<T: Encodable>(_ message: T) throws -> [UInt8] {
        var bytes = Array(try JSONEncoder().encode(message))
        bytes.append(0x0A)
        return bytes
    }

    /// Reads one line (without its "\n") as a `T`.
    /// - Throws: `MalformedControlMessage` saying what is wrong with it.
    static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(line))
        } catch let error as DecodingError {
            throw MalformedControlMessage(error)
        }
    }
}

/// A control line that is not the message expected, said briefly: which member
/// and what was wrong, not the decoder's internals.
struct MalformedControlMessage: Error, CustomStringConvertible, Equatable {
    let reason: String

    init(reason: String) { self.reason = reason }

    init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            reason = "\"\(Self.path(context.codingPath + [key]))\" is missing"
        case .valueNotFound(let type, let context):
            reason = Self.located(context.codingPath, "expected \(Self.kind(type)), found null")
        case .typeMismatch(let type, let context):
            reason = Self.located(context.codingPath, "expected \(Self.kind(type))")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // This JSONDecoder reports syntax errors (and numbers out of range) without a position.
            reason = "not valid JSON"
        case .dataCorrupted(let context):
            reason = Self.located(context.codingPath, context.debugDescription)
        @unknown default:
            reason = "\(error)"
        }
    }

    var description: String { reason }

    private static func located(_ path: [CodingKey], _ text: String) -> String {
        path.isEmpty ? text : "\(Self.path(path)): \(text)"
    }

    /// `buses[0].devices` for the coding path buses, Index 0, devices.
    static func path(_ keys: [CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue, key.stringValue.hasPrefix("Index ") {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }

    static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is UInt64.Type, is UInt32.Type, is UInt16.Type, is UInt8.Type, is UInt.Type: return "a whole number of 0 or more"
        case is Int64.Type, is Int32.Type, is Int16.Type, is Int8.Type, is Int.Type: return "a whole number"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Dictionary") { return "an object" }
            if name.hasPrefix("Array") { return "an array" }
            return name
        }
    }
}
