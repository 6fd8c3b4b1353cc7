import Foundation
import GatewayTestSupport
import XCTest

/// `mqtts://` against a real mosquitto TLS listener whose CA and certificates
/// the test makes with openssl; username/password from `password_file`.
final class UplinkTLSEndToEndTests: XCTestCase {
    static let password = "s3cret-Pa55word-xyz"

    /// A throwaway PKI: a CA, a server certificate for 127.0.0.1, a client certificate, and an unrelated CA.
    struct PKI {
        let dir: String
        var ca: String { dir + "/ca.crt" }
        var otherCA: String { dir + "/other-ca.crt" }
        var serverCert: String { dir + "/server.crt" }
        var serverKey: String { dir + "/server.key" }
        var clientCert: String { dir + "/client.crt" }
        var clientKey: String { dir + "/client.key" }
        var passwordFile: String { dir + "/mqtt.password" }
        var brokerPasswords: String { dir + "/mosquitto.passwd" }

        init() throws {
            dir = TestPaths.temporaryDirectory("pki")
            let openssl = TestPaths.systemProgram("openssl")
            func run(_ args: [String]) throws {
                let r = try ChildProcess.run(openssl, args)
                guard r.status == 0 else { throw NSError(domain: "openssl", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
            }
            try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=gatewayd test CA",
                     "-keyout", dir + "/ca.key", "-out", ca])
            try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=some other CA",
                     "-keyout", dir + "/other-ca.key", "-out", otherCA])
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
            for (name, cn) in [("server", "127.0.0.1"), ("client", "gw-test")] {
                try run(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(cn)", "-keyout", dir + "/\(name).key", "-out", dir + "/\(name).csr"])
                var args = ["x509", "-req", "-in", dir + "/\(name).csr", "-CA", ca, "-CAkey", dir + "/ca.key", "-CAcreateserial",
                            "-days", "2", "-out", dir + "/\(name).crt"]
                if name == "server" { args += ["-extfile", dir + "/san.ext"] }
                try run(args)
            }
            try (UplinkTLSEndToEndTests.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
            let r = try ChildProcess.run(TestPaths.systemProgram("mosquitto_passwd"), ["-c", "-b", brokerPasswords, "gw-test", UplinkTLSEndToEndTests.password])
            XCTAssertEqual(r.status, 0, r.stderr)
        }

        func brokerConfiguration(port: Int, requireClientCertificate: Bool) -> String {
            """
            listener \(port) 127.0.0.1
            cafile \(ca)
            certfile \(serverCert)
            keyfile \(serverKey)
            require_certificate \(requireClientCertificate)
            allow_anonymous false
            password_file \(brokerPasswords)
            """
        }

        func subscriber(port: Int) throws -> TopicRecorder {
            try TopicRecorder(port: port, filter: "t/gw-test/#",
                              extraArguments: ["--cafile", ca, "--cert", clientCert, "--key", clientKey,
                                               "-u", "gw-test", "-P", UplinkTLSEndToEndTests.password])
        }
    }

    func gatewayConfig(simPort: Int, brokerPort: Int, caFile: String, clientCert: (String, String)?, pki: PKI) -> String {
        var extra = """
        ca_file = "\(caFile)"
        username = "gw-test"
        password_file = "\(pki.passwordFile)"
        """
        if let (cert, key) = clientCert { extra += "\ncert_file = \"\(cert)\"\nkey_file = \"\(key)\"" }
        return PipelineEndToEndTests.config(simPort: simPort, brokerPort: brokerPort, extraUplink: extra)
            .replacingOccurrences(of: "mqtt://127.0.0.1:\(brokerPort)", with: "mqtts://127.0.0.1:\(brokerPort)")
    }

    func testServerVerificationAndPasswordFromFile() throws {
        let pki = try PKI()
        let port = TestPaths.freePort()
        let broker = try MosquittoBroker(port: port, extraConfiguration: pki.brokerConfiguration(port: port, requireClientCertificate: false))
        let sim = try SimulatorProcess()
        let sub = try pki.subscriber(port: broker.port)
        let gw = try GatewayProcess(config: gatewayConfig(simPort: sim.port, brokerPort: port, caFile: pki.ca, clientCert: nil, pki: pki))
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.count >= 10 }, "no data over TLS: \(gw.log)\n\(broker.log)")
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertFalse(gw.log.contains(Self.password), "the password appeared in the log")
    }

    func testWrongCAIsRefusedWithAClearError() throws {
        let pki = try PKI()
        let port = TestPaths.freePort()
        let broker = try MosquittoBroker(port: port, extraConfiguration: pki.brokerConfiguration(port: port, requireClientCertificate: false))
        let sim = try SimulatorProcess()
        let sub = try pki.subscriber(port: broker.port)
        let gw = try GatewayProcess(config: gatewayConfig(simPort: sim.port, brokerPort: port, caFile: pki.otherCA, clientCert: nil, pki: pki))
        try gw.start()
        XCTAssertNotNil(gw.child?.waitForLine(containing: "not trusted by uplink.ca_file", timeout: 15),
                        "no clear TLS error in the log: \(gw.log)")
        XCTAssertTrue(sub.readings.isEmpty, "data went to a broker whose certificate is not trusted")
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertFalse(gw.log.contains(Self.password))
    }

    func testMutualTLSWithClientCertificate() throws {
        let pki = try PKI()
        let port = TestPaths.freePort()
        let broker = try MosquittoBroker(port: port, extraConfiguration: pki.brokerConfiguration(port: port, requireClientCertificate: true))
        let sim = try SimulatorProcess()
        let sub = try pki.subscriber(port: broker.port)
        let gw = try GatewayProcess(config: gatewayConfig(simPort: sim.port, brokerPort: port, caFile: pki.ca,
                                                          clientCert: (pki.clientCert, pki.clientKey), pki: pki))
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.count >= 10 }, "no data over mutual TLS: \(gw.log)\n\(broker.log)")
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertFalse(gw.log.contains(Self.password))

        // Without the client certificate the same broker refuses us.
        let gw2 = try GatewayProcess(config: gatewayConfig(simPort: sim.port, brokerPort: port, caFile: pki.ca, clientCert: nil, pki: pki))
        let before = sub.readings.count
        try gw2.start()
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(sub.readings.count, before, "a client without certificate got through")
        XCTAssertEqual(gw2.terminate(), 0)
    }

    func testWrongPasswordIsRefusedWithAClearError() throws {
        let pki = try PKI()
        try "not-the-password\n".write(toFile: pki.passwordFile, atomically: true, encoding: .utf8)
        let port = TestPaths.freePort()
        let broker = try MosquittoBroker(port: port, extraConfiguration: pki.brokerConfiguration(port: port, requireClientCertificate: false))
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: gatewayConfig(simPort: sim.port, brokerPort: port, caFile: pki.ca, clientCert: nil, pki: pki))
        try gw.start()
        XCTAssertNotNil(gw.child?.waitForLine(containing: "check uplink.username and password_file", timeout: 15),
                        "no clear authentication error: \(gw.log)\n\(broker.log)")
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertFalse(gw.log.contains("not-the-password"))
    }
}
