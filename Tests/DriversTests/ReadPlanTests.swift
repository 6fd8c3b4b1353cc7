import Drivers
import GatewayModel
import XCTest

final class ReadPlanTests: XCTestCase {
    private func point(_ name: String, _ table: RegisterTable, _ address: Int, _ type: PointType = .uint16) -> PointConfiguration {
        PointConfiguration(name: name, table: table, address: address, type: type)
    }

    func testAdjacentAndNearPointsShareOneRequest() {
        let points = [point("a", .holding, 0, .float32), point("b", .holding, 2, .uint32),
                      point("c", .holding, 12, .int16),  // gap 8 after b (4..<12): still one read
                      point("d", .holding, 30)]          // gap 17: a new read
        let plan = ReadPlan.coalesced(points)
        XCTAssertEqual(plan.blocks, [
            RegisterBlock(table: .holding, address: 0, count: 13, pointIndexes: [0, 1, 2]),
            RegisterBlock(table: .holding, address: 30, count: 1, pointIndexes: [3]),
        ])
    }

    func testTablesAreNeverMixedAndOrderIsByAddress() {
        let points = [point("i2", .input, 10), point("h", .holding, 0), point("i1", .input, 9),
                      point("c", .coil, 5, .bool), point("d", .discrete, 100, .bool), point("c2", .coil, 69, .bool)]
        let plan = ReadPlan.coalesced(points)
        XCTAssertEqual(plan.blocks, [
            RegisterBlock(table: .holding, address: 0, count: 1, pointIndexes: [1]),
            RegisterBlock(table: .input, address: 9, count: 2, pointIndexes: [2, 0]),
            RegisterBlock(table: .coil, address: 5, count: 65, pointIndexes: [3, 5]),  // bit gap 63 ≤ 64
            RegisterBlock(table: .discrete, address: 100, count: 1, pointIndexes: [4]),
        ])
    }

    func testBitGapAbove64Splits() {
        let plan = ReadPlan.coalesced([point("a", .coil, 0, .bool), point("b", .coil, 66, .bool)])
        XCTAssertEqual(plan.blocks.count, 2)
    }

    func testNeverMoreThan125RegistersOr2000Bits() {
        let regs = (0..<100).map { point("r\($0)", .holding, $0 * 4, .float64) }  // 400 registers, contiguous
        let plan = ReadPlan.coalesced(regs)
        XCTAssertTrue(plan.blocks.allSatisfy { $0.count <= 125 })
        XCTAssertEqual(plan.blocks.count, 4)  // 31 float64 per 124-register block
        XCTAssertEqual(plan.blocks.flatMap(\.pointIndexes).sorted(), Array(0..<100))
        for block in plan.blocks {
            for i in block.pointIndexes {
                XCTAssertTrue(regs[i].address >= block.address && regs[i].address + 4 <= block.endAddress)
            }
        }
        let bits = (0..<5000).map { point("b\($0)", .discrete, $0, .bool) }
        let bitPlan = ReadPlan.coalesced(bits)
        XCTAssertEqual(bitPlan.blocks.map(\.count), [2000, 2000, 1000])
    }

    func testOverlappingPointsShareRegisters() {
        let plan = ReadPlan.coalesced([point("wide", .holding, 0, .uint64), point("low", .holding, 3)])
        XCTAssertEqual(plan.blocks, [RegisterBlock(table: .holding, address: 0, count: 4, pointIndexes: [0, 1])])
    }

    func testPerPointPlan() {
        let points = [point("a", .holding, 0, .float32), point("b", .holding, 2)]
        XCTAssertEqual(ReadPlan.perPoint(points).blocks, [
            RegisterBlock(table: .holding, address: 0, count: 2, pointIndexes: [0]),
            RegisterBlock(table: .holding, address: 2, count: 1, pointIndexes: [1]),
        ])
        XCTAssertTrue(ReadPlan.coalesced(points).coalescesAnything)
        XCTAssertFalse(ReadPlan.perPoint(points).coalescesAnything)
    }
}
