import GatewayModel

/// The four ways a device may lay out a 32-bit value over two registers.
/// Letters name the bytes of the value, A most significant, in wire order.
public enum RegisterLayout: String, Sendable, CaseIterable {
    /// Big-endian words and bytes (Modbus standard): `word_order = "big"`, `byte_order = "big"`.
    case abcd = "ABCD"
    /// Low word first: `word_order = "little"`, `byte_order = "big"`.
    case cdab = "CDAB"
    /// Bytes swapped within each register: `word_order = "big"`, `byte_order = "little"`.
    case badc = "BADC"
    /// Fully little-endian: `word_order = "little"`, `byte_order = "little"`.
    case dcba = "DCBA"

    public var wordOrder: ByteOrder { self == .abcd || self == .badc ? .big : .little }
    public var byteOrder: ByteOrder { self == .abcd || self == .cdab ? .big : .little }
}

/// One register (and the pair starting there) read under one layout.
public struct RegisterInterpretation: Sendable, Equatable {
    /// Offset of the first register in the probed range.
    public var index: Int
    public var layout: RegisterLayout
    /// The register alone under the layout's byte order.
    public var int16: Int16
    public var uint16: UInt16
    /// The pair `index, index+1`; nil for the last register.
    public var int32: Int32?
    public var uint32: UInt32?
    public var float32: Float?
}

/// What `gatewayctl probe modbus` prints: every register pair under every type and layout,
/// so a technician can spot the one that gives a plausible value.
public enum DecodingTable {
    public static func interpretations(_ registers: [UInt16]) -> [RegisterInterpretation] {
        var out: [RegisterInterpretation] = []
        for index in registers.indices {
            for layout in RegisterLayout.allCases {
                let one = registers[index...index]
                let word = UInt16(RegisterDecoder.assemble(one, byteOrder: layout.byteOrder, wordOrder: .big))
                var row = RegisterInterpretation(index: index, layout: layout, int16: Int16(bitPattern: word), uint16: word)
                if index + 1 < registers.count {
                    let pair = UInt32(RegisterDecoder.assemble(registers[index...(index + 1)], byteOrder: layout.byteOrder,
                                                               wordOrder: layout.wordOrder))
                    row.int32 = Int32(bitPattern: pair)
                    row.uint32 = pair
                    row.float32 = Float(bitPattern: pair)
                }
                out.append(row)
            }
        }
        return out
    }
}
