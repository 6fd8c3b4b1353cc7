import GatewayModel

/// A device's points compiled once for the poll loop: the read plan, and for
/// every point where its registers lie in its block's answer and how to turn
/// them into a value.
///
/// The bus thread polls the same device every interval for days, so planning
/// the reads and looking up types, orders and scales are done here once, not
/// per poll; decoding an answer then costs a few shifts and one multiply-add
/// per point and allocates nothing.
public struct DeviceReadMap: Sendable {
    /// The requests one poll makes, in order.
    public let plan: ReadPlan
    /// Whether the plan reads one point per request (the device refused a coalesced read).
    public let perPoint: Bool
    /// Indexed like the device's points.
    let slots: [Slot]

    struct Slot: Sendable {
        var block: Int
        /// Index of the point's first register (or bit) in its block's answer.
        var offset: Int
        var registerCount: Int
        var type: PointType
        var bytesSwapped: Bool
        var wordsReversed: Bool
        var isBit: Bool
        var scale: Double
        var valueOffset: Double
    }

    public init(points: [PointConfiguration], perPoint: Bool = false) {
        let plan = perPoint ? ReadPlan.perPoint(points) : ReadPlan.coalesced(points)
        var slots = [Slot](repeating: Slot(block: 0, offset: 0, registerCount: 1, type: .uint16, bytesSwapped: false,
                                           wordsReversed: false, isBit: false, scale: 1, valueOffset: 0),
                           count: points.count)
        for (b, block) in plan.blocks.enumerated() {
            for i in block.pointIndexes {
                let p = points[i]
                slots[i] = Slot(block: b, offset: p.address - block.address, registerCount: ReadPlan.span(of: p), type: p.type,
                                bytesSwapped: p.byteOrder == .little, wordsReversed: p.wordOrder == .little,
                                isBit: block.table.isBits, scale: p.scale, valueOffset: p.offset)
            }
        }
        self.plan = plan
        self.perPoint = perPoint
        self.slots = slots
    }

    public var pointCount: Int { slots.count }

    /// Which block of `plan` carries point `index`, and where in its answer.
    public func location(ofPoint index: Int) -> (block: Int, offset: Int, count: Int) {
        let s = slots[index]
        return (s.block, s.offset, s.registerCount)
    }

    /// The scaled value of point `index` from its block's answer (`words`: the
    /// registers, or bits as 0/1, exactly as read). Allocates nothing.
    public func value(ofPoint index: Int, in words: UnsafeBufferPointer<UInt16>) -> Double {
        decode(slots[index], words)
    }

    func decode(_ s: Slot, _ words: UnsafeBufferPointer<UInt16>) -> Double {
        if s.isBit { return (words[s.offset] != 0 ? 1 : 0) * s.scale + s.valueOffset }
        var bits: UInt64 = 0
        let last = s.offset + s.registerCount - 1
        for k in 0..<s.registerCount {
            var w = words[s.wordsReversed ? last - k : s.offset + k]
            if s.bytesSwapped { w = w.byteSwapped }
            bits = bits << 16 | UInt64(w)
        }
        return RegisterDecoder.raw(bits: bits, type: s.type) * s.scale + s.valueOffset
    }

    /// Appends one reading per point that `block` carries, decoded from its
    /// answer: the bus thread's hot path (no allocation beyond `readings`' growth).
    public func appendReadings(block: Int, words: UnsafeBufferPointer<UInt16>, pointIDs: [PointID],
                               timestampMilliseconds: Int64, quality: Quality, into readings: inout [Reading]) {
        for i in plan.blocks[block].pointIndexes {
            readings.append(Reading(pointID: pointIDs[i], timestampMilliseconds: timestampMilliseconds,
                                    value: decode(slots[i], words), quality: quality))
        }
    }
}
