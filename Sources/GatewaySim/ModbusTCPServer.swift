import CModbus
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Modbus TCP: libmodbus opens the listening socket (`modbus_tcp_listen`)
/// and builds every reply; requests are framed here from the MBAP length, on
/// non-blocking sockets, so one client that stalls mid-request or sends
/// garbage never holds up the others (`modbus_receive` would wait for it).
/// A client whose bytes cannot be a Modbus TCP request is disconnected.
final class ModbusTCPServer {
    let host: String
    /// The bound port (the real one when 0 was asked for).
    let port: Int
    let listenFD: Int32
    private(set) var clientFDs: [Int32] = []
    private var pendingBytes: [Int32: [UInt8]] = [:]
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
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            clientFDs.append(fd)
            pendingBytes[fd] = []
        }
    }

    /// Reads what a readable client sent and answers every complete request in it.
    func serve(clientFD fd: Int32, plant: ModbusPlant) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
        guard n > 0 else { drop(fd); return }  // hung up or reset
        var pending = (pendingBytes[fd] ?? []) + buffer[0..<n]
        while pending.count >= 7 {
            // MBAP: transaction(2) protocol(2) length(2) unit(1); length counts unit + PDU.
            let protocolID = UInt16(pending[2]) << 8 | UInt16(pending[3])
            let length = Int(pending[4]) << 8 | Int(pending[5])
            guard protocolID == 0, (2...254).contains(length) else { drop(fd); return }
            guard pending.count >= 6 + length else { break }
            let request = Array(pending[0..<(6 + length)])
            pending.removeFirst(6 + length)
            if let reply = plant.answer(request, with: replyBuilder), !reply.isEmpty {
                if FileDescriptorIO.writeNonBlocking(fd, reply, isSocket: true) < reply.count {
                    drop(fd)  // it stopped reading; a real server would give up on it too
                    return
                }
            }
        }
        pendingBytes[fd] = pending
    }

    func drop(_ fd: Int32) {
        close(fd)
        clientFDs.removeAll { $0 == fd }
        pendingBytes[fd] = nil
    }
}
