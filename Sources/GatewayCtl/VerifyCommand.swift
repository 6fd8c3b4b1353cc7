import ArgumentParser
import Foundation
import GatewayModel
import Uplink

/// `gatewayctl verify`: subscribes to a gateway's topics and proves (or
/// disproves) completeness: per `store`, every `seq` either arrived or was
/// announced on `gaps`. For utilities, and for our own tests.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a gateway's MQTT stream for missing, duplicate and announced-lost readings.",
        discussion: """
        Subscribes to {prefix}/{gateway}/data/+, events/+, alarms/+ and gaps, listens until the stream is idle \
        (or --duration passes), then reports per store: the seq range seen, how many arrived, duplicates, \
        ranges announced on `gaps` (with their reason), and ranges missing (neither received nor announced). \
        With --resend it asks the gateway (cmd/resend) for every missing range and listens again. \
        Exit 0 when nothing is missing, 1 when something is.
        Start it before the gateway publishes what you want to check, or use --from-seq.
        """
    )

    @Option(help: "The broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT].")
    var url: String

    @Option(help: "The gateway id (gateway.id).")
    var gateway: String

    @Option(help: "The topic prefix (uplink.topic_prefix).")
    var prefix: String = "gatewayd"

    @Option(help: "Stop when nothing arrived for this long.")
    var idle: String = "5s"

    @Option(help: "Stop after this long in any case.")
    var duration: String?

    @Option(help: "The first seq expected (when joining a stream that started earlier).")
    var fromSeq: UInt64 = 1

    @Flag(help: "Ask the gateway to resend every missing range (cmd/resend), then listen again.")
    var resend = false

    @Option(help: "Broker login user.") var username: String?
    @Option(help: "File holding the broker password.") var passwordFile: String?
    @Option(help: "CA certificate for mqtts://.") var caFile: String?
    @Option(help: "Client certificate (mutual TLS).") var certFile: String?
    @Option(help: "Client key (mutual TLS).") var keyFile: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        guard let broker = BrokerAddress(url: url) else {
            throw ValidationError("--url must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT], not \(url)")
        }
        guard let idleTime = ConfigUnits.duration(idle) else { throw ValidationError("--idle: not a duration: \(idle)") }
        let limit = try duration.map { d -> Duration in
            guard let v = ConfigUnits.duration(d) else { throw ValidationError("--duration: not a duration: \(d)") }
            return v
        }
        let base = "\(prefix)/\(gateway)/"
        let subscription: BrokerSubscription
        do {
            subscription = try BrokerSubscription(
                broker: broker, clientID: "gatewayctl-verify-\(getpid())",
                filters: [base + "data/+", base + "events/+", base + "alarms/+", base + "gaps"],
                username: username, passwordFile: passwordFile, caFile: caFile, certFile: certFile, keyFile: keyFile)
            try subscription.waitConnected(timeout: .seconds(10))
        } catch {
            throw VerifyFailure("cannot subscribe at \(broker.url): \(error)")
        }
        var audit = StreamAudit(expectedFirstSeq: fromSeq)
        listen(subscription, into: &audit, idle: idleTime, limit: limit)
        if resend {
            var asked = false
            for store in audit.stores {
                for range in audit.report(store: store).missing {
                    subscription.publish(topic: base + "cmd/resend",
                                         text: "{\"store\":\(JSONText.quote(store)),\"from\":\(range.lowerBound),\"to\":\(range.upperBound)}")
                    asked = true
                }
            }
            if asked { listen(subscription, into: &audit, idle: idleTime, limit: limit) }
        }
        subscription.close()
        let reports = audit.stores.map { audit.report(store: $0) }
        print(json ? Self.jsonText(reports) : Self.table(reports))
        if reports.isEmpty {
            throw VerifyFailure("nothing arrived from \(gateway) under \(base) — check --gateway, --prefix and that the gateway is publishing")
        }
        if reports.contains(where: { !$0.missing.isEmpty }) { throw ExitCode(1) }
    }

    private func listen(_ s: BrokerSubscription, into audit: inout StreamAudit, idle: Duration, limit: Duration?) {
        let start = SystemClock.monotonicNow()
        while let m = s.next(timeout: idle) {
            Self.account(m, into: &audit)
            if let limit, SystemClock.monotonicNow() - start >= UInt64(limit.nanoseconds) { break }
        }
    }

    static func account(_ m: BrokerSubscription.Message, into audit: inout StreamAudit) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(m.payload)) as? [String: Any],
              let store = object["store"] as? String else { return }
        func number(_ v: Any?) -> UInt64? { (v as? NSNumber)?.uint64Value }
        if m.topic.hasSuffix("/gaps") {
            for r in object["ranges"] as? [[String: Any]] ?? [] {
                if let from = number(r["from"]), let to = number(r["to"]) {
                    audit.announced(store: store, from: from, to: to, reason: r["reason"] as? String ?? "")
                }
            }
        } else if let readings = object["readings"] as? [[String: Any]] {
            for r in readings { if let seq = number(r["seq"]) { audit.received(store: store, seq: seq) } }
        } else if let seq = number(object["seq"]) {
            audit.received(store: store, seq: seq)
        }
    }

    static func ranges(_ rs: [ClosedRange<UInt64>]) -> String {
        rs.isEmpty ? "none" : rs.prefix(20).map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ", ") + (rs.count > 20 ? " … (\(rs.count) ranges)" : "")
    }

    static func table(_ reports: [StreamAudit.StoreReport]) -> String {
        var out: [String] = []
        for r in reports {
            out.append("store \(r.store)")
            out.append("  seq seen      \(r.firstSeq)…\(r.lastSeq)")
            out.append("  received      \(r.received)")
            out.append("  duplicates    \(r.duplicates)")
            let announced = r.announced.map { "\($0.from)-\($0.to) (\($0.reason))" }
            out.append("  announced     \(announced.isEmpty ? "none" : announced.prefix(20).joined(separator: ", "))")
            out.append("  missing       \(ranges(r.missing))\(r.missing.isEmpty ? "" : " — \(r.missingCount) readings neither received nor announced")")
        }
        return out.joined(separator: "\n")
    }

    static func jsonText(_ reports: [StreamAudit.StoreReport]) -> String {
        let items = reports.map { r -> String in
            let missing = r.missing.map { "{\"from\":\($0.lowerBound),\"to\":\($0.upperBound)}" }.joined(separator: ",")
            let announced = r.announced.map { "{\"from\":\($0.from),\"to\":\($0.to),\"reason\":\(JSONText.quote($0.reason))}" }.joined(separator: ",")
            return "{\"store\":\(JSONText.quote(r.store)),\"first_seq\":\(r.firstSeq),\"last_seq\":\(r.lastSeq),\"received\":\(r.received),"
                + "\"duplicates\":\(r.duplicates),\"missing_count\":\(r.missingCount),\"missing\":[\(missing)],\"announced\":[\(announced)]}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}

/// A problem the user must fix (unreachable broker, nothing published): message on stderr, exit 1.
struct VerifyFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
