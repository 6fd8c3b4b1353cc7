import GatewayModel

/// One read request: a contiguous range of one table and the points it serves.
public struct RegisterBlock: Sendable, Equatable {
    public var table: RegisterTable
    public var address: Int
    /// Registers (holding/input) or bits (coil/discrete).
    public var count: Int
    /// Indexes into the device's point list, in address order.
    public var pointIndexes: [Int]

    public init(table: RegisterTable, address: Int, count: Int, pointIndexes: [Int]) {
        self.table = table
        self.address = address
        self.count = count
        self.pointIndexes = pointIndexes
    }

    public var endAddress: Int { address + count }
}

/// How one device's points are read: as few requests as the protocol allows.
///
/// Points are grouped by table, sorted by address, and neighbours are merged
/// into one block when the gap between them is small. Reading a few unused
/// registers costs a few bytes on the wire; a separate request costs a whole
/// round trip (on RS-485 at 9600 baud about 20 ms of frames and silences plus
/// the device's turnaround), so a gap up to `maxRegisterGap` (8 registers =
/// 16 bytes) or `maxBitGap` (64 bits = 8 bytes) is always cheaper to read
/// through. Larger gaps are more likely to cross unmapped registers, which
/// many devices answer with exception 0x02; when that happens the bus falls
/// back to `perPoint` for the device. Blocks never exceed the protocol limits:
/// 125 registers per FC3/FC4 read, 2000 bits per FC1/FC2 read.
public struct ReadPlan: Sendable, Equatable {
    public static let maxRegistersPerRead = 125
    public static let maxBitsPerRead = 2000
    public static let maxRegisterGap = 8
    public static let maxBitGap = 64

    public var blocks: [RegisterBlock]

    public init(blocks: [RegisterBlock]) { self.blocks = blocks }

    /// Registers (or bits) a point occupies in its table.
    public static func span(of point: PointConfiguration) -> Int {
        point.table.isBits ? 1 : point.type.registerCount
    }

    /// The coalesced plan for `points`.
    public static func coalesced(_ points: [PointConfiguration]) -> ReadPlan {
        var blocks: [RegisterBlock] = []
        for table in RegisterTable.allCases {
            let indexes = points.indices.filter { points[$0].table == table }
                .sorted { (points[$0].address, $0) < (points[$1].address, $1) }
            let limit = table.isBits ? maxBitsPerRead : maxRegistersPerRead
            let maxGap = table.isBits ? maxBitGap : maxRegisterGap
            var current: RegisterBlock?
            for i in indexes {
                let start = points[i].address
                let end = start + span(of: points[i])
                if var block = current {
                    let gap = start - block.endAddress
                    let newEnd = max(block.endAddress, end)
                    if gap <= maxGap && newEnd - block.address <= limit {
                        block.count = newEnd - block.address
                        block.pointIndexes.append(i)
                        current = block
                        continue
                    }
                    blocks.append(block)
                }
                current = RegisterBlock(table: table, address: start, count: end - start, pointIndexes: [i])
            }
            if let block = current { blocks.append(block) }
        }
        return ReadPlan(blocks: blocks)
    }

    /// One request per point, for devices that refuse reads across unmapped registers.
    public static func perPoint(_ points: [PointConfiguration]) -> ReadPlan {
        ReadPlan(blocks: points.indices.map {
            RegisterBlock(table: points[$0].table, address: points[$0].address, count: span(of: points[$0]), pointIndexes: [$0])
        })
    }

    /// Whether some block serves more than one point (so a 0x02 may be the gap's fault).
    public var coalescesAnything: Bool { blocks.contains { $0.pointIndexes.count > 1 } }
}
