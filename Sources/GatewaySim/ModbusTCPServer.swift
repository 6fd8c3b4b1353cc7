import CModbus
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Modbus TCP on libmodbus's server API: `modbus_tcp_listen` for the socket,
/// `modbus_receive` per client. Several clients at once; the event loop polls
/// the listening socket and every client socket. A client that disconnects,
/// stalls mid-request or sends garbage is dropped alone.
final class ModbusTCPServer {
    let host: String
    /// The bound port (the real one when 0 was asked for).
    let port: Int
    let listenFD: Int32
    private(set) var clientFDs: [Int32] = []
    private let context: OpaquePointer
    let replyBuilder = ModbusReplyBuilder(framing: .tcp)

    init(host: String, port: Int) throws {
        let endpoint = "\(host):\(port)"
        guard let context = modbus_new_tcp(host, Int32(port)) else {
            throw SimulatorError.listenFailed(endpoint: endpoint, reason: errnoText())
        }
        let fd = modbus_tcp_listen(context, 16)
        guard fd >= 0 else {
            let reason = String(cString: modbus_strerror(errno))
            modbus_free(context)
            throw SimulatorError.listenFailed(endpoint: endpoint, reason: reason)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        // A request must arrive whole within these times once its first byte is in,
        // so one stalled client cannot hold up the others for long.
        modbus_set_indication_timeout(context, 1, 0)
        modbus_set_byte_timeout(context, 0, 500_000)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.host = host
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listenFD = fd
        self.context = context
    }

    deinit {
        for fd in clientFDs { close(fd) }
        close(listenFD)
        modbus_free(context)
    }

    /// Takes every pending connection.
    func acceptClients() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return  // EAGAIN: none left; other errors (EMFILE) leave the client queued
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            clientFDs.append(fd)
        }
    }

    /// Receives one request from a readable client and answers it. The client
    /// is closed when it hung up or sent something libmodbus cannot frame.
    func serve(clientFD fd: Int32, plant: ModbusPlant) {
        var request = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        modbus_set_socket(context, fd)
        let n = modbus_receive(context, &request)
        modbus_set_socket(context, -1)
        guard n > 0 else {
            if n < 0 { drop(fd) }
            return
        }
        if let reply = plant.answer(Array(request[0..<Int(n)]), with: replyBuilder), !reply.isEmpty {
            if FileDescriptorIO.writeNonBlocking(fd, reply, isSocket: true) < reply.count {
                drop(fd)  // it stopped reading; a real server would time it out too
            }
        }
    }

    func drop(_ fd: Int32) {
        close(fd)
        clientFDs.removeAll { $0 == fd }
    }
}
