import Foundation
@testable import GatewayDaemon
import GatewayTestSupport
import XCTest

/// gatewayd's own command line (read by hand, issue #8): the options the unit
/// file and technicians use, and a clear refusal of anything else.
final class DaemonCommandLineTests: XCTestCase {
    private func problem(_ arguments: [String]) -> String {
        do {
            return "no error: \(try DaemonCommandLine.parse(arguments))"
        } catch {
            return "\(error)"
        }
    }

    func testTheOptionsAreReadInBothForms() throws {
        let metrics = NSTemporaryDirectory()
        XCTAssertEqual(try DaemonCommandLine.parse([]), .run(DaemonCommandLine()), "defaults: /etc/gatewayd/gatewayd.toml, info")
        XCTAssertEqual(DaemonCommandLine().configPath, "/etc/gatewayd/gatewayd.toml")
        let expected = DaemonCommandLine(configPath: "/tmp/g.toml", logLevel: .debug, metricsTextfileDirectory: metrics,
                                         metricsInterval: .milliseconds(300))
        XCTAssertEqual(try DaemonCommandLine.parse(["--config", "/tmp/g.toml", "--log-level", "debug",
                                                    "--metrics-textfile", metrics, "--metrics-interval", "300ms"]), .run(expected))
        XCTAssertEqual(try DaemonCommandLine.parse(["-c", "/tmp/g.toml", "--log-level=debug",
                                                    "--metrics-textfile=\(metrics)", "--metrics-interval=300ms"]), .run(expected))
        XCTAssertEqual(try DaemonCommandLine.parse(["--config", "/tmp/a.toml", "--config=/tmp/g.toml", "--log-level=debug",
                                                    "--metrics-textfile=\(metrics)", "--metrics-interval=300ms"]), .run(expected), "the last one counts")
        XCTAssertEqual(try DaemonCommandLine.parse(["--config", "x", "--help"]), .help)
        XCTAssertEqual(try DaemonCommandLine.parse(["-h"]), .help)
        XCTAssertEqual(try DaemonCommandLine.parse(["--version"]), .version)
    }

    func testAnythingElseIsRefusedInWords() {
        XCTAssertEqual(problem(["--config"]), "--config needs a value")
        XCTAssertEqual(problem(["--config", "--log-level", "debug"]), "--config needs a value")
        XCTAssertEqual(problem(["--log-level", "loud"]), "--log-level \"loud\" is not one of trace, debug, info, notice, warning, error, critical")
        XCTAssertEqual(problem(["--metrics-interval", "often"]), "--metrics-interval \"often\" is not a duration like 10s or 500ms")
        XCTAssertEqual(problem(["--metrics-interval=0s"]), "--metrics-interval \"0s\" is not a duration like 10s or 500ms")
        XCTAssertEqual(problem(["--metrics-textfile", "/nonexistent/metrics"]),
                       "--metrics-textfile /nonexistent/metrics: no such directory (create it, writable by the gatewayd user)")
        XCTAssertEqual(problem(["--verbose"]), "unknown option --verbose")
        XCTAssertEqual(problem(["--verbose=1"]), "unknown option --verbose")
        XCTAssertEqual(problem(["/etc/gatewayd/gatewayd.toml"]), "unexpected argument \"/etc/gatewayd/gatewayd.toml\" (the config file goes after --config)")
    }

    func testTheProgramAnswersHelpVersionAndUsageErrors() throws {
        let gatewayd = TestPaths.executable("gatewayd")
        let help = try ChildProcess.run(gatewayd, ["--help"])
        XCTAssertEqual(help.status, 0)
        for option in ["--config FILE", "--log-level LEVEL", "--metrics-textfile DIR", "--metrics-interval DURATION", "--version"] {
            XCTAssertTrue(help.stdout.contains(option), "help names \(option): \(help.stdout)")
        }
        let version = try ChildProcess.run(gatewayd, ["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), GatewayVersion.string)
        let wrong = try ChildProcess.run(gatewayd, ["--log-level", "loud"])
        XCTAssertEqual(wrong.status, 64, "EX_USAGE")
        XCTAssertTrue(wrong.stderr.contains("Error: --log-level \"loud\" is not one of"), wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains(DaemonCommandLine.usage), wrong.stderr)
        let missing = try ChildProcess.run(gatewayd, ["--config", "/nonexistent/gatewayd.toml"])
        XCTAssertEqual(missing.status, 1, "a config it cannot read: exit 1")
        XCTAssertTrue(missing.stderr.contains("/nonexistent/gatewayd.toml:1: file:"), missing.stderr)
    }

    func testTheDaemonLinksNoFoundation() throws {
        // Foundation's JSON coder or an argument parser would bring FoundationEssentials (0.8 MB
        // resident) or all of Foundation and ICU (9 MB) back into gatewayd (issue #8). The test
        // build links Swift's libraries dynamically, so ldd names every one the daemon uses.
        let ldd = try ChildProcess.run(TestPaths.systemProgram("ldd"), [TestPaths.executable("gatewayd")])
        XCTAssertEqual(ldd.status, 0, ldd.stderr)
        XCTAssertTrue(ldd.stdout.contains("libswiftCore"), "a dynamically linked test build: \(ldd.stdout)")
        XCTAssertFalse(ldd.stdout.lowercased().contains("foundation"), ldd.stdout)
        let ctl = try ChildProcess.run(TestPaths.systemProgram("ldd"), [TestPaths.executable("gatewayctl")])
        XCTAssertTrue(ctl.stdout.contains("libFoundation"), "the check sees Foundation where it is: \(ctl.stdout)")
    }
}
