import Foundation

/// A real mosquitto broker on a free loopback port, started by the test.
public final class MosquittoBroker {
    public let port: Int
    public let directory: String
    private let extraConfiguration: String
    private var child: ChildProcess?

    /// - Parameter extraConfiguration: more mosquitto.conf lines (TLS listener, password file…).
    ///   The default listener allows anonymous clients on 127.0.0.1:`port`.
    public init(port: Int? = nil, extraConfiguration: String? = nil) throws {
        self.port = port ?? TestPaths.freePort()
        directory = TestPaths.temporaryDirectory("mosquitto")
        self.extraConfiguration = extraConfiguration ?? "listener \(self.port) 127.0.0.1\nallow_anonymous true\n"
        try start()
    }

    deinit { child?.kill9() }

    public var url: String { "mqtt://127.0.0.1:\(port)" }

    public func start() throws {
        let conf = directory + "/mosquitto.conf"
        // As root, mosquitto would switch to the `mosquitto` user and could not read the test's key files.
        let user = geteuid() == 0 ? "user root" : ""
        let text = """
        \(user)
        persistence false
        log_dest stderr
        log_type error
        log_type warning
        log_type notice
        max_inflight_messages 0
        max_queued_messages 0
        \(extraConfiguration)
        """
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        let c = try ChildProcess(TestPaths.systemProgram("mosquitto"), ["-c", conf])
        child = c
        // Ready when the port accepts connections.
        let ok = TestPaths.waitUntil(timeout: 10) { MosquittoBroker.portOpen(self.port) || !c.isRunning }
        guard ok, c.isRunning else {
            throw NSError(domain: "MosquittoBroker", code: 1, userInfo: [NSLocalizedDescriptionKey: "mosquitto did not start: \(c.allOutput)"])
        }
    }

    /// Freezes the broker (SIGSTOP): connections stay open, nothing is acknowledged.
    public func freeze() { child?.signal(SIGSTOP) }

    /// Kills the broker outright (SIGKILL), as a crash or power cut would.
    public func kill() {
        child?.signal(SIGCONT)
        child?.kill9()
        child = nil
    }

    public func stop() {
        child?.signal(SIGTERM)
        _ = child?.waitForExit(timeout: 10)
        child = nil
    }

    public var log: String { child?.allOutput ?? "" }

    static func portOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// Records every message on a topic filter with a real `mosquitto_sub`.
public final class TopicRecorder {
    public struct Message: Equatable {
        public var topic: String
        public var payload: String
        public var retained: Bool
    }

    private let child: ChildProcess

    public init(port: Int, filter: String, extraArguments: [String] = []) throws {
        // One message per line: retained flag, topic, payload (payloads are single-line JSON).
        child = try ChildProcess(TestPaths.systemProgram("mosquitto_sub"),
                                 ["-h", "127.0.0.1", "-p", String(port), "-t", filter, "-q", "1", "-F", "%r\t%t\t%p"] + extraArguments)
        // mosquitto_sub has no ready signal: wait until the broker sees the subscription settle.
        Thread.sleep(forTimeInterval: 0.3)
    }

    deinit { child.kill9() }

    public var messages: [Message] {
        child.stdoutLines.compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            return Message(topic: String(parts[1]), payload: String(parts[2]), retained: parts[0] == "1")
        }
    }

    public func messages(topicSuffix: String) -> [Message] {
        messages.filter { $0.topic.hasSuffix(topicSuffix) }
    }

    /// JSON objects of the messages whose topic contains `fragment`.
    public func json(topicContaining fragment: String) -> [[String: Any]] {
        messages.filter { $0.topic.contains(fragment) }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8))) as? [String: Any]
        }
    }

    @discardableResult
    public func waitUntil(timeout: TimeInterval, _ condition: (TopicRecorder) -> Bool) -> Bool {
        TestPaths.waitUntil(timeout: timeout) { condition(self) }
    }

    public func stop() { child.kill9() }
}
