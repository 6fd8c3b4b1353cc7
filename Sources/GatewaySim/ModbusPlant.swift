/// Every simulated Modbus unit, the shared water network, and the answer to
/// each request. Used from the event loop thread only.
final class ModbusPlant {
    let clock: SimulatedClock
    let network: WaterNetworkModel
    /// In the order of `--units`.
    private(set) var units: [SimulatedUnit] = []
    private var unitsByID: [UInt8: SimulatedUnit] = [:]
    /// `--tcp-unknown-unit exception`: answer unknown units with 0x0B instead of silence.
    let answerUnknownTCPUnitsWithException: Bool
    /// Counters for the `status` command.
    private(set) var requestsAnswered = 0
    private(set) var requestsIgnored = 0

    init(units spec: [(unitID: UInt8, kind: UnitKind)], clock: SimulatedClock, seed: UInt64,
         answerUnknownTCPUnitsWithException: Bool) {
        self.clock = clock
        self.network = WaterNetworkModel(seed: seed)
        self.answerUnknownTCPUnitsWithException = answerUnknownTCPUnitsWithException
        let start = clock.nowSeconds()
        for (id, kind) in spec {
            let map: RegisterMap
            switch kind {
            case .electricity: map = ElectricityRegisterMap(model: ElectricityModel(unitID: id, seed: seed, startSeconds: start))
            case .water: map = WaterRegisterMap(unitID: id, network: network, startSeconds: start)
            case .pressure: map = PressureRegisterMap(unitID: id, network: network)
            case .pattern: map = PatternRegisterMap()
            case .watermeterUltrad: map = UltradWaterMeterRegisterMap(unitID: id, network: network, startSeconds: start)
            case .aiAdam4017: map = Adam4017RegisterMap(unitID: id, network: network)
            }
            let unit = SimulatedUnit(unitID: id, kind: kind, map: map)
            units.append(unit)
            unitsByID[id] = unit
        }
    }

    func unit(_ id: UInt8) -> SimulatedUnit? { unitsByID[id] }

    /// The bytes to send back for one complete request (MBAP header + PDU for
    /// TCP, slave + PDU + CRC for RTU), or nil when the unit stays silent.
    func answer(_ request: [UInt8], with builder: ModbusReplyBuilder) -> [UInt8]? {
        let headerLength = builder.framing == .tcp ? 7 : 1
        guard request.count > headerLength else { requestsIgnored += 1; return nil }
        let unitID = request[headerLength - 1]
        let function = request[headerLength]
        guard let unit = unitsByID[unitID] else {
            // A dead slave on RS-485 simply does not answer; a TCP gateway may say so with 0x0B.
            if builder.framing == .tcp && answerUnknownTCPUnitsWithException {
                requestsAnswered += 1
                return builder.exception(to: request, code: 0x0B)
            }
            requestsIgnored += 1
            return nil
        }
        if unit.isMuted { requestsIgnored += 1; return nil }
        var reply: [UInt8]
        if let code = unit.exceptionCode {
            reply = builder.exception(to: request, code: code)
        } else if ModbusFunction.writes.contains(function) && !unit.map.acceptsModbusWrites {
            reply = builder.exception(to: request, code: 0x01)
        } else {
            unit.prepare(atSeconds: clock.nowSeconds())
            reply = builder.reply(to: request, from: unit.mapping)
        }
        if unit.corruptResponsesLeft > 0 && !reply.isEmpty {
            unit.corruptResponsesLeft -= 1
            reply = builder.corrupt(reply)
        }
        requestsAnswered += 1
        return reply
    }

    /// Starts or resizes the leak now (every totaliser first catches up, so
    /// volume before the leak is counted without it).
    func startLeak(flowM3h: Double, atSeconds t: Double) {
        advanceTotalisers(to: t)
        network.startLeak(flowM3h: flowM3h, atSeconds: t)
    }

    func stopLeak() {
        advanceTotalisers(to: clock.nowSeconds())
        network.stopLeak()
    }

    private func advanceTotalisers(to t: Double) {
        for unit in units {
            (unit.map as? WaterRegisterMap)?.inlet.volumeLitres(atSeconds: t)
            (unit.map as? UltradWaterMeterRegisterMap)?.inlet.volumeLitres(atSeconds: t)
        }
    }
}
