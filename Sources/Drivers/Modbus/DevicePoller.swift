import GatewayModel

/// What one point got from one poll.
struct PointOutcome {
    /// The registers read for the point (bits as 0/1), empty when the read failed.
    var registers: [UInt16] = []
    var value: Double?
    var error: ModbusError?
    /// Wall time when the answer carrying this point arrived (or the failure was seen).
    var timestampMilliseconds: Int64 = 0
    /// Time of the transaction that carried the point.
    var latencyNanoseconds: UInt64 = 0
}

/// One poll of one device.
struct DevicePollResult {
    var outcomes: [PointOutcome]
    /// The first error, if any block failed.
    var failure: ModbusError?
    /// Whether at least one block was answered with data.
    var anyAnswered = false
    /// Set when a coalesced block was refused with exception 0x02 and the device
    /// switched to one request per point during this poll.
    var refusedCoalescedBlock: RegisterBlock?
    var transactions = 0
    var exceptions = 0
    var timeouts = 0
    var invalidResponses = 0
    var busyNanoseconds: UInt64 = 0
}

/// Reads and decodes all points of one device over a link. Used by the bus
/// owner thread and by one-shot commissioning; blocks for the transactions.
enum DevicePoller {
    /// - Parameters:
    ///   - map: the device's compiled read map; replaced (for good) by a
    ///     per-point map when a coalesced read is refused with exception 0x02.
    ///   - keepRegisters: whether outcomes carry their raw registers
    ///     (commissioning shows them; the bus does not need them and skips the
    ///     copy, one allocation per reading).
    static func poll(link: ModbusLink, device: DeviceConfiguration, map: inout DeviceReadMap, keepRegisters: Bool,
                     clock: GatewayClock) -> DevicePollResult {
        let points = device.points
        var result = DevicePollResult(outcomes: Array(repeating: PointOutcome(), count: points.count))
        // Planned blocks carry their index into `map`; blocks inserted by the 0x02 fallback carry nil and decode the slow way.
        var blocks: [(block: RegisterBlock, planned: Int?)] = map.plan.blocks.enumerated().map { ($1, $0) }
        let perPointBefore = map.perPoint
        var index = 0
        while index < blocks.count {
            let (block, planned) = blocks[index]
            index += 1
            let started = clock.monotonicNanoseconds()
            do {
                result.transactions += 1
                let words: [UInt16]
                if block.table.isBits {
                    words = try link.readBits(unit: device.unitID, table: block.table, address: block.address, count: block.count)
                        .map { $0 ? 1 : 0 }
                } else {
                    words = try link.readRegisters(unit: device.unitID, table: block.table, address: block.address, count: block.count)
                }
                let ended = clock.monotonicNanoseconds()
                result.busyNanoseconds += ended &- started
                let stamp = clock.wallMilliseconds()
                result.anyAnswered = true
                words.withUnsafeBufferPointer { buffer in
                    for i in block.pointIndexes {
                        let point = points[i]
                        let from = point.address - block.address
                        let value: Double
                        if planned != nil {
                            value = map.value(ofPoint: i, in: buffer)
                        } else {
                            let slice = words[from..<(from + ReadPlan.span(of: point))]
                            value = block.table.isBits ? RegisterDecoder.value(bit: slice.first! != 0, point: point)
                                : RegisterDecoder.value(slice, point: point)
                        }
                        result.outcomes[i] = PointOutcome(
                            registers: keepRegisters ? Array(words[from..<(from + ReadPlan.span(of: point))]) : [],
                            value: value, error: nil, timestampMilliseconds: stamp, latencyNanoseconds: ended &- started)
                    }
                }
            } catch let error as ModbusError {
                let ended = clock.monotonicNanoseconds()
                result.busyNanoseconds += ended &- started
                if case .exception(_, _, 2, _) = error, block.pointIndexes.count > 1, !perPointBefore {
                    // The gap crossed unmapped registers: read this device point by point from now on.
                    if !map.perPoint { map = DeviceReadMap(points: points, perPoint: true) }
                    result.refusedCoalescedBlock = block
                    result.anyAnswered = true
                    result.exceptions += 1
                    let single = block.pointIndexes.map {
                        (block: RegisterBlock(table: points[$0].table, address: points[$0].address,
                                              count: ReadPlan.span(of: points[$0]), pointIndexes: [$0]), planned: Int?.none)
                    }
                    blocks.insert(contentsOf: single, at: index)
                    continue
                }
                let stamp = clock.wallMilliseconds()
                for i in block.pointIndexes {
                    result.outcomes[i] = PointOutcome(error: error, timestampMilliseconds: stamp, latencyNanoseconds: ended &- started)
                }
                if result.failure == nil { result.failure = error }
                switch error {
                case .exception:
                    // The unit is alive and said no to this block; the others may still work.
                    result.anyAnswered = true
                    result.exceptions += 1
                    continue
                case .timeout: result.timeouts += 1
                case .invalidResponse, .badUnitID: result.invalidResponses += 1
                default: break
                }
                // No (usable) answer: do not spend another timeout on this unit's
                // remaining blocks; they fail with the same error.
                for rest in blocks[index...] {
                    for i in rest.block.pointIndexes {
                        result.outcomes[i] = PointOutcome(error: error, timestampMilliseconds: stamp)
                    }
                }
                return result
            } catch {
                preconditionFailure("ModbusLink throws only ModbusError: \(error)")
            }
        }
        return result
    }
}
