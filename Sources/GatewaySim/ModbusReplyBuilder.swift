import CModbus
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds replies with libmodbus (`modbus_reply`, `modbus_reply_exception`)
/// and hands back the bytes instead of sending them: libmodbus writes into one
/// end of a socket pair and we read the other. The caller then sends them,
/// without blocking and possibly corrupted on purpose (`garbage UNIT N`).
final class ModbusReplyBuilder {
    enum Framing { case tcp, rtu }

    let framing: Framing
    private let context: OpaquePointer
    private let libmodbusEnd: Int32
    private let captureEnd: Int32

    init(framing: Framing) {
        self.framing = framing
        // The context is never connected; it only supplies the framing (MBAP header or CRC).
        let context: OpaquePointer? = framing == .tcp ? modbus_new_tcp("127.0.0.1", 502) : modbus_new_rtu("/dev/null", 9600, 78 /* N */, 8, 1)
        guard let context else { fatalError("libmodbus could not create a context: \(errnoText())") }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            fatalError("socketpair() failed: \(errnoText())")
        }
        for fd in pair {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        modbus_set_socket(context, pair[0])
        self.context = context
        self.libmodbusEnd = pair[0]
        self.captureEnd = pair[1]
    }

    deinit {
        modbus_free(context)
        close(libmodbusEnd)
        close(captureEnd)
    }

    /// The normal answer from the unit's tables (reads, and writes where the map takes them).
    /// libmodbus itself answers exception 0x02 outside the tables and 0x01 for unknown functions.
    func reply(to request: [UInt8], from mapping: RegisterMapping) -> [UInt8] {
        capture(request) { modbus_reply($0, request, Int32(request.count), mapping.raw) }
    }

    /// An exception response with `code` (1–11).
    func exception(to request: [UInt8], code: UInt8) -> [UInt8] {
        capture(request) { modbus_reply_exception($0, request, UInt32(code)) }
    }

    private func capture(_ request: [UInt8], _ send: (OpaquePointer) -> Int32) -> [UInt8] {
        // Some libmodbus versions only answer requests addressed to the context's own slave id.
        let unitIndex = framing == .tcp ? 6 : 0
        if request.count > unitIndex { modbus_set_slave(context, Int32(request[unitIndex])) }
        let rc = send(context)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = read(captureEnd, &buffer, buffer.count)
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        if rc < 0 && bytes.isEmpty {
            CommandConsole.note("libmodbus could not build a reply: \(String(cString: modbus_strerror(errno)))")
        }
        return bytes
    }

    /// Spoils a reply so the client must reject it: RTU keeps the frame but
    /// inverts its CRC; TCP garbles the transaction and protocol identifiers.
    func corrupt(_ reply: [UInt8]) -> [UInt8] {
        var bytes = reply
        switch framing {
        case .rtu:
            if bytes.count >= 2 {
                bytes[bytes.count - 1] ^= 0xFF
                bytes[bytes.count - 2] ^= 0xFF
            }
        case .tcp:
            if bytes.count >= 4 {
                bytes[0] ^= 0xFF
                bytes[1] ^= 0xFF
                bytes[2] = 0xFF
                bytes[3] = 0xFF
            }
        }
        return bytes
    }
}
