import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `gateway-sim modbus` started by a test, driven through its stdin console.
public final class SimulatorProcess {
    public let port: Int
    public let child: ChildProcess

    public init(units: String = "1=electricity,2=water,3=pressure,9=pattern", extraArguments: [String] = []) throws {
        port = TestPaths.freePort()
        child = try ChildProcess(TestPaths.executable("gateway-sim"),
                                 ["modbus", "--tcp", "127.0.0.1:\(port)", "--units", units] + extraArguments)
        guard child.waitForLine(containing: "ready", timeout: 15) != nil else {
            throw NSError(domain: "SimulatorProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "gateway-sim did not start: \(child.allOutput)"])
        }
    }

    /// Sends a console command and waits for its `ok`/`error` answer.
    @discardableResult
    public func command(_ line: String) -> String? {
        let before = child.stdoutLines.count
        child.send(line)
        var answer: String?
        TestPaths.waitUntil(timeout: 5) {
            let lines = child.stdoutLines
            answer = lines.dropFirst(before).first { $0.hasPrefix("ok") || $0.hasPrefix("error") }
            return answer != nil
        }
        return answer
    }

    deinit { child.kill9() }
}

/// A real `gatewayd` process with a config written into a fresh directory.
public final class GatewayProcess {
    public let directory: String
    public let configPath: String
    public private(set) var child: ChildProcess?

    /// - Parameter config: TOML text; `@DATA_DIR@` is replaced with a data directory inside `directory`.
    public init(config: String, directory: String? = nil) throws {
        self.directory = directory ?? TestPaths.temporaryDirectory("gatewayd")
        configPath = self.directory + "/gatewayd.toml"
        try config.replacingOccurrences(of: "@DATA_DIR@", with: self.directory + "/data")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    public var dataDirectory: String { directory + "/data" }
    public var bufferPath: String { dataDirectory + "/buffer.sqlite" }

    /// Starts gatewayd and waits for its start line.
    public func start(environment: [String: String]? = nil, waitForStart: Bool = true) throws {
        let c = try ChildProcess(TestPaths.executable("gatewayd"), ["--config", configPath, "--log-level", "debug"],
                                 environment: environment)
        child = c
        if waitForStart {
            guard c.waitForLine(containing: "gatewayd started", timeout: 20) != nil else {
                throw NSError(domain: "GatewayProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "gatewayd did not start: \(c.allOutput)"])
            }
        }
    }

    /// SIGTERM and wait; returns the exit status.
    public func terminate(timeout: TimeInterval = 20) -> Int32? {
        child?.signal(SIGTERM)
        return child?.waitForExit(timeout: timeout)
    }

    public func kill9() { child?.kill9() }
    public var log: String { child?.allOutput ?? "" }
}

/// A reading as a subscriber sees it in a `data/{device}` batch.
public struct ReceivedReading: Equatable {
    public var store: String
    public var seq: UInt64
    public var device: String
    public var point: String
    public var value: Double?
    public var quality: String
    public var historical: Bool
}

extension TopicRecorder {
    /// Every reading in every `data/` batch received so far.
    public var readings: [ReceivedReading] {
        var out: [ReceivedReading] = []
        for batch in json(topicContaining: "/data/") {
            let store = batch["store"] as? String ?? ""
            let device = batch["device"] as? String ?? ""
            let historical = batch["historical"] as? Bool ?? false
            for r in batch["readings"] as? [[String: Any]] ?? [] {
                out.append(ReceivedReading(store: store, seq: (r["seq"] as? NSNumber)?.uint64Value ?? 0, device: device,
                                           point: r["point"] as? String ?? "", value: (r["value"] as? NSNumber)?.doubleValue,
                                           quality: r["quality"] as? String ?? "", historical: historical))
            }
        }
        return out
    }

    /// Every seq seen on data, events and alarms topics.
    public var allSeqs: Set<UInt64> {
        var s = Set(readings.map(\.seq))
        for m in json(topicContaining: "/events/") + json(topicContaining: "/alarms/") {
            if let n = m["seq"] as? NSNumber { s.insert(n.uint64Value) }
        }
        return s
    }
}
