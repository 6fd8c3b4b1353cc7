import GatewayModel

/// A raw read a technician asks for (`gatewayctl probe`/`poll` through the daemon).
public struct RegisterRequest: Sendable, Equatable {
    public var unitID: Int
    public var table: RegisterTable
    /// 0-based protocol address.
    public var address: Int
    /// Registers (holding/input, 1–125) or bits (coil/discrete, 1–2000).
    public var count: Int

    public init(unitID: Int, table: RegisterTable, address: Int, count: Int) {
        self.unitID = unitID
        self.table = table
        self.address = address
        self.count = count
    }
}

/// The answer to a `RegisterRequest`: registers for holding/input, bits for coil/discrete.
public enum RegisterResponse: Sendable, Equatable {
    case registers([UInt16])
    case bits([Bool])

    public var registers: [UInt16]? { if case .registers(let r) = self { return r } else { return nil } }
    public var bits: [Bool]? { if case .bits(let b) = self { return b } else { return nil } }
}

extension ModbusLink {
    /// Performs one raw request. Blocks for the transaction.
    func perform(_ request: RegisterRequest) throws -> RegisterResponse {
        if request.table.isBits {
            return .bits(try readBits(unit: request.unitID, table: request.table, address: request.address, count: request.count))
        }
        return .registers(try readRegisters(unit: request.unitID, table: request.table, address: request.address, count: request.count))
    }
}
