#if canImport(Glibc)
import Glibc
#endif
import CModbus
import Drivers
import Foundation
import GatewayModel
import XCTest

/// A request as the test server saw it.
struct SeenRequest: Equatable {
    var unit: Int
    var function: Int
    var address: Int
    var count: Int
}

/// Register contents shared by the test servers: one libmodbus mapping per unit.
final class UnitMaps: @unchecked Sendable {
    // Invariant: the mappings are read by the server thread and written by the
    // test only with `lock` held.
    let lock = ConditionLock()
    private var maps: [Int: UnsafeMutablePointer<modbus_mapping_t>] = [:]

    func map(_ unit: Int) -> UnsafeMutablePointer<modbus_mapping_t> {
        if let m = maps[unit] { return m }
        let m = modbus_mapping_new(2000, 2000, 1000, 1000)!
        maps[unit] = m
        return m
    }

    func setHolding(unit: Int = 1, _ address: Int, _ values: [UInt16]) {
        lock.withLock { for (i, v) in values.enumerated() { map(unit).pointee.tab_registers[address + i] = v } }
    }

    func setInput(unit: Int = 1, _ address: Int, _ values: [UInt16]) {
        lock.withLock { for (i, v) in values.enumerated() { map(unit).pointee.tab_input_registers[address + i] = v } }
    }

    func setCoils(unit: Int = 1, _ address: Int, _ values: [Bool]) {
        lock.withLock { for (i, v) in values.enumerated() { map(unit).pointee.tab_bits[address + i] = v ? 1 : 0 } }
    }

    func setDiscrete(unit: Int = 1, _ address: Int, _ values: [Bool]) {
        lock.withLock { for (i, v) in values.enumerated() { map(unit).pointee.tab_input_bits[address + i] = v ? 1 : 0 } }
    }

    deinit { for m in maps.values { modbus_mapping_free(m) } }
}

/// Fault injection and bookkeeping common to both servers.
final class ServerScript: @unchecked Sendable {
    // Invariant: every field is accessed with `lock` held.
    let lock = ConditionLock()
    var silentUnits: Set<Int> = []
    /// Per unit, ranges of holding addresses that are not mapped: a read touching one gets exception 0x02.
    var holdingHoles: [Int: [Range<Int>]] = [:]
    var requests: [SeenRequest] = []
    var answered = 0
    var malformedRequests = 0
    /// RTU only: the next N answers are corrupted (CRC broken, bytes flipped).
    var corruptNextAnswers = 0
    /// RTU only: every answer is replaced by random bytes from this generator.
    var fuzz: ModbusFuzzGenerator?

    var silent: Set<Int> {
        get { lock.withLock { silentUnits } }
        set { lock.withLock { silentUnits = newValue } }
    }

    func requests(unit: Int) -> [SeenRequest] { lock.withLock { requests.filter { $0.unit == unit } } }
    var requestCount: Int { lock.withLock { requests.count } }

    func setHoles(unit: Int, _ holes: [Range<Int>]) { lock.withLock { holdingHoles[unit] = holes } }

    /// Decides what to do with a parsed request: nil = stay silent, 0 = reply normally, else exception code.
    func verdict(_ r: SeenRequest) -> Int? {
        lock.withLock {
            requests.append(r)
            if silentUnits.contains(r.unit) { return nil }
            if r.function == 3, let holes = holdingHoles[r.unit],
               holes.contains(where: { $0.overlaps(r.address..<(r.address + r.count)) }) {
                return 2
            }
            return 0
        }
    }
}

/// A small deterministic generator so fuzz runs repeat.
struct ModbusFuzzGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A real libmodbus TCP server on a free loopback port, served by a background thread.
final class ModbusTCPTestServer: @unchecked Sendable {
    // Invariant: `ctx`, `clients` are used only by the server thread after start.
    let maps = UnitMaps()
    let script = ServerScript()
    private(set) var port: Int = 0
    private let ctx: OpaquePointer
    private let listenFD: Int32
    private var clients: [Int32] = []
    private let control = ConditionLock()
    private var stopping = false
    private var dropRequested = false
    private var thread: OwnerThread!

    init() throws {
        ctx = modbus_new_tcp("127.0.0.1", 0)!
        listenFD = modbus_tcp_listen(ctx, 8)
        guard listenFD >= 0 else { throw ModbusTestServerError("modbus_tcp_listen failed: errno \(errno)") }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        thread = OwnerThread(name: "modbus-tcp-test-server") { [self] in serve() }
        thread.start()
    }

    /// A bus configuration pointing at this server.
    func bus(name: String = "plant-lan", timeout: Duration = .milliseconds(150)) -> BusConfiguration {
        BusConfiguration(name: name, type: .modbusTCP, host: "127.0.0.1", port: port, timeout: timeout)
    }

    /// Closes every client connection (the bus sees a broken connection).
    func dropConnections() { control.withLock { dropRequested = true } }

    func stop() {
        control.withLock { stopping = true }
        thread.join()
        for c in clients { Glibc.close(c) }
        Glibc.close(listenFD)
        modbus_free(ctx)
    }

    private func serve() {
        var query = [UInt8](repeating: 0, count: 260)
        while true {
            let (stop, drop) = control.withLock { () -> (Bool, Bool) in
                defer { dropRequested = false }
                return (stopping, dropRequested)
            }
            if stop { return }
            if drop {
                for c in clients { Glibc.close(c) }
                clients.removeAll()
            }
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            fds += clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), 20) <= 0 { continue }
            if fds[0].revents != 0 {
                let c = accept(listenFD, nil, nil)
                if c >= 0 { clients.append(c) }
            }
            for f in fds.dropFirst() where f.revents != 0 {
                modbus_set_socket(ctx, f.fd)
                let rc = modbus_receive(ctx, &query)
                if rc == -1 {
                    Glibc.close(f.fd)
                    clients.removeAll { $0 == f.fd }
                    continue
                }
                if rc < 12 { continue }
                let unit = Int(query[6])
                let r = SeenRequest(unit: unit, function: Int(query[7]),
                                    address: Int(query[8]) << 8 | Int(query[9]), count: Int(query[10]) << 8 | Int(query[11]))
                guard let verdict = script.verdict(r) else { continue }
                if verdict != 0 {
                    modbus_reply_exception(ctx, query, UInt32(verdict))
                } else {
                    maps.lock.withLock { _ = modbus_reply(ctx, query, rc, maps.map(unit)) }
                }
                script.lock.withLock { script.answered += 1 }
            }
        }
    }
}

struct ModbusTestServerError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF), as it goes on the wire (low byte first).
func modbusCRC(_ bytes: ArraySlice<UInt8>) -> UInt16 {
    var crc: UInt16 = 0xFFFF
    for b in bytes {
        crc ^= UInt16(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
    }
    return crc
}

/// A real libmodbus RTU server for several unit ids on the master side of a
/// pseudo-terminal; the bus under test opens the slave through a symlink, as
/// it would open /dev/serial/by-id/... on a box.
final class ModbusRTUTestServer: @unchecked Sendable {
    // Invariant: `master`, `slave`, `buffer` and the contexts are used only by the
    // server thread, except in vanish()/reappear() which hold `control` and run while the thread is parked.
    let maps = UnitMaps()
    let script = ServerScript()
    let directory: String
    let linkPath: String
    let units: [Int]
    private var contexts: [Int: OpaquePointer] = [:]
    /// The contexts reply into this socket pair so the test can read (and corrupt) the answer before it goes on the line.
    private var replyPair: [Int32] = [-1, -1]
    private var master: Int32 = -1
    private var slave: Int32 = -1
    private var buffer: [UInt8] = []
    private let control = ConditionLock()
    private var stopping = false
    private var present = true
    private var thread: OwnerThread!

    init(units: [Int]) throws {
        self.units = units
        directory = NSTemporaryDirectory() + "gatewayd-rtu-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        linkPath = directory + "/ttyRS485"
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &replyPair) == 0 else {
            throw ModbusTestServerError("socketpair failed: errno \(errno)")
        }
        for u in units {
            let c = modbus_new_rtu("/dev/null", 9600, CChar(UInt8(ascii: "N")), 8, 1)!
            modbus_set_slave(c, Int32(u))
            modbus_set_socket(c, replyPair[0])
            contexts[u] = c
        }
        try openPTY()
        thread = OwnerThread(name: "modbus-rtu-test-server") { [self] in serve() }
        thread.start()
    }

    func bus(name: String = "rs485-1", timeout: Duration = .milliseconds(120), baud: Int = 19200) -> BusConfiguration {
        BusConfiguration(name: name, type: .modbusRTU, device: linkPath, baud: baud, timeout: timeout)
    }

    private func openPTY() throws {
        var m: Int32 = -1, s: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        guard openpty(&m, &s, &name, nil, nil) == 0 else { throw ModbusTestServerError("openpty failed: errno \(errno)") }
        var tio = termios()
        tcgetattr(s, &tio)
        cfmakeraw(&tio)
        tcsetattr(s, TCSANOW, &tio)
        let path = String(cString: name)
        unlink(linkPath)
        guard symlink(path, linkPath) == 0 else { throw ModbusTestServerError("symlink failed: errno \(errno)") }
        master = m
        slave = s
        buffer.removeAll()
    }

    /// The adapter is unplugged: the pty closes and its path disappears.
    func vanish() {
        control.withLock {
            present = false
            Glibc.close(master)
            Glibc.close(slave)
            master = -1
            slave = -1
            unlink(linkPath)
        }
    }

    /// The adapter is back: a new pty behind the same path.
    func reappear() throws {
        try control.withLock {
            try openPTY()
            present = true
        }
    }

    func stop() {
        control.withLock { stopping = true }
        thread.join()
        if master >= 0 { Glibc.close(master) }
        if slave >= 0 { Glibc.close(slave) }
        for c in contexts.values { modbus_free(c) }
        Glibc.close(replyPair[0])
        Glibc.close(replyPair[1])
        unlink(linkPath)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func serve() {
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            control.lock()
            if stopping { control.unlock(); return }
            guard present else { control.unlock(); usleep(10_000); continue }
            var fd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fd, 1, 10)
            if ready > 0 && fd.revents & Int16(POLLIN) != 0 {
                let n = read(master, &chunk, chunk.count)
                if n > 0 { buffer += chunk[0..<n] }
            }
            control.unlock()
            if ready > 0 && fd.revents & Int16(POLLIN) == 0 { usleep(5_000) }  // POLLHUP: nobody has the slave open
            handleFrames()
        }
    }

    /// Read requests (FC1–4) are always 8 bytes: unit, function, address, count, CRC.
    private func handleFrames() {
        while buffer.count >= 8 {
            let frame = Array(buffer[0..<8])
            let crc = modbusCRC(frame[0..<6])
            guard frame[6] == UInt8(crc & 0xFF), frame[7] == UInt8(crc >> 8), (1...4).contains(frame[1]) else {
                script.lock.withLock { script.malformedRequests += 1 }
                buffer.removeFirst()
                continue
            }
            buffer.removeFirst(8)
            let unit = Int(frame[0])
            let r = SeenRequest(unit: unit, function: Int(frame[1]),
                                address: Int(frame[2]) << 8 | Int(frame[3]), count: Int(frame[4]) << 8 | Int(frame[5]))
            guard let c = contexts[unit], let verdict = script.verdict(r) else { continue }
            if verdict != 0 {
                modbus_reply_exception(c, frame, UInt32(verdict))
            } else {
                maps.lock.withLock { _ = modbus_reply(c, frame, 8, maps.map(unit)) }
            }
            var answer = drainReply()
            script.lock.withLock {
                if var g = script.fuzz {
                    let n = Int.random(in: 0...40, using: &g)
                    answer = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
                    if Bool.random(using: &g), !answer.isEmpty { answer[0] = UInt8(unit) }
                    script.fuzz = g
                } else if script.corruptNextAnswers > 0 {
                    script.corruptNextAnswers -= 1
                    // A flipped data bit: right length, wrong CRC.
                    answer[answer.count - 3] ^= 0x10
                }
                script.answered += 1
            }
            control.withLock { _ = answer.withUnsafeBytes { write(master, $0.baseAddress, $0.count) } }
        }
    }

    private func drainReply() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            var fd = pollfd(fd: replyPair[1], events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, out.isEmpty ? 100 : 0) <= 0 { return out }
            let n = read(replyPair[1], &chunk, chunk.count)
            if n <= 0 { return out }
            out += chunk[0..<n]
        }
    }
}

/// Collects what a bus delivers.
final class ModbusReadingCollector: ReadingSink, @unchecked Sendable {
    // Invariant: `readings` and `events` are accessed with `lock` held.
    private let lock = ConditionLock()
    private var readings: [Reading] = []
    private var events: [DeviceEvent] = []

    func deliver(readings new: [Reading]) { lock.withLock { readings += new } }
    func deliver(event: DeviceEvent) { lock.withLock { events.append(event) } }

    var all: [Reading] { lock.withLock { readings } }
    func readings(of point: PointID) -> [Reading] { lock.withLock { readings.filter { $0.pointID == point } } }
    func good(_ point: PointID) -> [Reading] { readings(of: point).filter { $0.value != nil } }
    func failed(_ point: PointID) -> [Reading] { readings(of: point).filter { $0.quality == .commError } }
}

/// A clock whose wall time the test sets; monotonic time is the machine's.
final class ModbusTestClock: GatewayClock, @unchecked Sendable {
    // Invariant: fields accessed with `lock` held.
    private let lock = ConditionLock()
    private var wall: Int64
    private var trusted: Bool

    init(wallMilliseconds: Int64 = 1_795_305_600_000, trusted: Bool = true) {
        wall = wallMilliseconds
        self.trusted = trusted
    }

    func wallMilliseconds() -> Int64 { lock.withLock { wall } }
    func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNow() }
    func isWallClockTrusted() -> Bool { lock.withLock { trusted } }
    func set(wallMilliseconds: Int64, trusted: Bool) { lock.withLock { wall = wallMilliseconds; self.trusted = trusted } }
}

/// Waits until `condition` holds; fails the test (never hangs) after a generous limit.
func eventually(_ what: String, limitSeconds: Double = 10, file: StaticString = #filePath, line: UInt = #line,
                _ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(limitSeconds)
    while Date() < deadline {
        if condition() { return }
        usleep(10_000)
    }
    XCTFail("gave up waiting: \(what)", file: file, line: line)
}
