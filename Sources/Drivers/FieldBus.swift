import GatewayModel
import Logging

/// One configured bus of any type, as the daemon uses it: start, stop, status,
/// and raw requests for `gatewayctl probe`/`poll` served through the daemon.
///
/// Each bus runs on its own owner thread; nothing here blocks the caller's
/// cooperative thread except `stop()`, which joins the bus thread (call it
/// from a shutdown path that may block, not from a hot async context).
public final class FieldBus: Sendable {
    public let configuration: BusConfiguration
    private let runner: any BusRunner
    private let modbus: ModbusBus?

    /// Builds the bus runner for `configuration.type`; does not open anything yet.
    /// `devices` are the devices on this bus, each with its point ids in the order of `DevicePoints.points(for:)`.
    public init(configuration: BusConfiguration, devices: [BusDevice], sink: ReadingSink, clock: GatewayClock, logger: Logger) {
        self.configuration = configuration
        switch configuration.type {
        case .modbusTCP, .modbusRTU:
            let bus = ModbusBus(configuration: configuration, devices: devices, sink: sink, clock: clock, logger: logger)
            modbus = bus
            runner = bus
        case .serialLine:
            modbus = nil
            runner = FieldBus.serialLineRunner(configuration: configuration, devices: devices, sink: sink, clock: clock, logger: logger)
        }
    }

    /// Starts the bus thread. Returns at once.
    public func start() { runner.start() }

    /// Stops polling, finishes the transaction in progress, fails queued requests
    /// with `ModbusError.busStopped`, and joins the bus thread. Blocks the caller.
    public func stop() { runner.stop() }

    /// A snapshot of the bus and its devices. Cheap; safe from any thread.
    public func status() -> BusStatus { runner.status() }

    /// Reads raw registers or bits on this bus, serialised with the polling by the bus thread.
    /// Suspends (never blocks) the caller until the answer comes.
    /// - Throws: `ModbusError` (`timeout`, `exception`, `connectionFailed`, `invalidRequest`,
    ///   `busStopped`, `busBusy`); `ModbusError.notModbus` on a serial-line bus.
    public func execute(_ request: RegisterRequest) async throws -> RegisterResponse {
        guard let modbus else {
            throw ModbusError.notModbus(bus: configuration.name, type: configuration.type.rawValue)
        }
        return try await modbus.execute(request)
    }

    static func serialLineRunner(configuration: BusConfiguration, devices: [BusDevice], sink: ReadingSink,
                                 clock: GatewayClock, logger: Logger) -> any BusRunner {
        // Only the parking protocol exists; the config reader rejects others.
        ParkingLineBus(configuration: configuration, devices: devices, sink: sink, clock: clock, logger: logger)
    }
}

/// The points a device produces, in the order `BusDevice.pointIDs` must follow.
public enum DevicePoints {
    /// Modbus devices: their configured points. Parking detectors: `ParkingPoints.points`.
    public static func points(for device: DeviceConfiguration) -> [(name: String, unit: String)] {
        if device.kind == .parkingDetector { return ParkingPoints.points }
        return device.points.map { (name: $0.name, unit: $0.unit) }
    }
}
