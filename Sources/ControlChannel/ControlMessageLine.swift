// Control messages are Codable values carried as `JSONValue`s (GatewayJSON),
// not with Foundation's JSON coder: that would link FoundationEssentials into
// gatewayd for these few messages (issue #8).
import GatewayJSON

/// One control message as one line of JSON, the framing of protocol version 1.
enum ControlMessageLine {
    /// The message as compact JSON plus "\n". A JSON string's newlines are
    /// escaped, so the line is the whole message.
    /// - Throws: `EncodingError` for a value with no JSON form (a NaN latency).
    static func encode<T: Encodable>(_ message: T) throws -> [UInt8] {
        var bytes = try JSONValueEncoder().encode(message).bytes
        bytes.append(0x0A)
        return bytes
    }

    /// Reads one line (without its "\n") as a `T`.
    /// - Throws: `MalformedControlMessage` saying what is wrong with it.
    static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        do {
            return try JSONValueDecoder().decode(type, from: JSONValue(parsing: line))
        } catch let error as JSONSyntaxError {
            throw MalformedControlMessage(reason: error.description)
        } catch let error as DecodingError {
            throw MalformedControlMessage(reason: JSONValueDecoder.reason(for: error))
        }
    }
}

/// A control line that is not the message expected, said briefly: which member
/// and what was wrong, not the decoder's internals.
struct MalformedControlMessage: Error, CustomStringConvertible, Equatable {
    let reason: String

    var description: String { reason }
}
