import Foundation
import GatewayTestSupport
import XCTest

/// The .deb: built by scripts/build-deb.sh from the test build's binaries (make
/// deb does the same from a release build), installed and purged in a scratch
/// root with the real dpkg, maintainer scripts included.
final class BoxPackageTests: XCTestCase {
    func testPackageInstallsKeepsDataOnRemoveAndPurgesEverything() throws {
        let out = TestPaths.temporaryDirectory("deb")
        let bin = URL(fileURLWithPath: TestPaths.executable("gatewayd")).deletingLastPathComponent().path
        let build = try ChildProcess.run(TestPaths.repositoryRoot + "/scripts/build-deb.sh", [bin, out, "0.1.0"], timeout: 120)
        XCTAssertEqual(build.status, 0, build.stderr)
        let deb = build.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dpkgDeb = TestPaths.systemProgram("dpkg-deb")

        let contents = try ChildProcess.run(dpkgDeb, ["-c", deb]).stdout
        for path in ["./usr/bin/gatewayd", "./usr/bin/gatewayctl", "./lib/systemd/system/gatewayd.service",
                     "./etc/gatewayd/gatewayd.toml", "./var/lib/gatewayd/", "./usr/share/man/man1/gatewayctl.1.gz",
                     "./usr/share/bash-completion/completions/gatewayctl", "./usr/share/zsh/site-functions/_gatewayctl",
                     "./usr/share/doc/gatewayd/operations.md"] {
            XCTAssertTrue(contents.contains(" \(path)\n") || contents.hasSuffix(" \(path)"), "\(path) missing:\n\(contents)")
        }
        XCTAssertTrue(contents.contains("root/root"), "files owned by root")
        let info = try ChildProcess.run(dpkgDeb, ["-I", deb]).stdout
        for s in ["postinst", "prerm", "postrm", "conffiles", "Package: gatewayd", "Depends: ", "libmodbus5"] {
            XCTAssertTrue(info.contains(s), "\(s) missing from dpkg-deb -I:\n\(info)")
        }
        XCTAssertEqual(try ChildProcess.run(dpkgDeb, ["-f", deb, "Version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
        let conffiles = try ChildProcess.run(dpkgDeb, ["--info", deb, "conffiles"]).stdout
        XCTAssertEqual(conffiles.trimmingCharacters(in: .whitespacesAndNewlines), "/etc/gatewayd/gatewayd.toml")

        // A scratch root: dpkg's database and the account files the scripts edit.
        let root = TestPaths.temporaryDirectory("dpkg-root")
        let fm = FileManager.default
        for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"] { try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        for f in ["var/lib/dpkg/status", "var/lib/dpkg/available"] { fm.createFile(atPath: root + "/" + f, contents: Data()) }
        try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\ndialout:x:20:\n".write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        try "root:*:19000:0:99999:7:::\n".write(toFile: root + "/etc/shadow", atomically: true, encoding: .utf8)
        try "root:*::\ndialout:*::\n".write(toFile: root + "/etc/gshadow", atomically: true, encoding: .utf8)
        let dpkg = TestPaths.systemProgram("dpkg")
        func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try ChildProcess.run(dpkg, ["--root=\(root)", "--force-script-chrootless", "--force-depends", "--force-not-root"] + args, timeout: 120)
        }

        let install = try run(["-i", deb])
        XCTAssertEqual(install.status, 0, install.stdout + install.stderr)
        XCTAssertTrue(fm.isExecutableFile(atPath: root + "/usr/bin/gatewayd"))
        XCTAssertTrue(fm.fileExists(atPath: root + "/lib/systemd/system/gatewayd.service"))
        let passwd = try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)
        let group = try String(contentsOfFile: root + "/etc/group", encoding: .utf8)
        let user = passwd.split(separator: "\n").first { $0.hasPrefix("gatewayd:") }
        XCTAssertNotNil(user, passwd)
        XCTAssertTrue(user?.contains(":/var/lib/gatewayd:/usr/sbin/nologin") ?? false, "\(user ?? "")")
        XCTAssertTrue(group.split(separator: "\n").contains { $0.hasPrefix("dialout:") && $0.hasSuffix("gatewayd") }, group)
        let uid = Int(user!.split(separator: ":")[2])!
        let state = try fm.attributesOfItem(atPath: root + "/var/lib/gatewayd")
        XCTAssertEqual((state[.ownerAccountID] as? NSNumber)?.intValue, uid, "the state directory belongs to gatewayd")
        let config = try fm.attributesOfItem(atPath: root + "/etc/gatewayd/gatewayd.toml")
        XCTAssertEqual((config[.posixPermissions] as? NSNumber)?.intValue, 0o640)

        // Remove keeps the (edited) config and the buffer; a reinstall finds them.
        try "# edited on site\n".write(toFile: root + "/etc/gatewayd/gatewayd.toml", atomically: false, encoding: .utf8)
        fm.createFile(atPath: root + "/var/lib/gatewayd/buffer.sqlite", contents: Data("data".utf8))
        XCTAssertEqual(try run(["-r", "gatewayd"]).status, 0)
        XCTAssertFalse(fm.fileExists(atPath: root + "/usr/bin/gatewayd"))
        XCTAssertTrue(fm.fileExists(atPath: root + "/var/lib/gatewayd/buffer.sqlite"))
        XCTAssertEqual(try String(contentsOfFile: root + "/etc/gatewayd/gatewayd.toml", encoding: .utf8), "# edited on site\n")
        let reinstall = try run(["-i", "--force-confold", deb])
        XCTAssertEqual(reinstall.status, 0, reinstall.stdout + reinstall.stderr)
        XCTAssertEqual(try String(contentsOfFile: root + "/etc/gatewayd/gatewayd.toml", encoding: .utf8), "# edited on site\n")
        XCTAssertEqual(try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8).split(separator: "\n")
                        .filter { $0.hasPrefix("gatewayd:") }.count, 1, "one gatewayd user after a reinstall")

        // Purge removes config, buffer and the user.
        let purge = try run(["-P", "gatewayd"])
        XCTAssertEqual(purge.status, 0, purge.stdout + purge.stderr)
        XCTAssertFalse(fm.fileExists(atPath: root + "/var/lib/gatewayd"))
        XCTAssertFalse(fm.fileExists(atPath: root + "/etc/gatewayd"))
        XCTAssertFalse(try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8).contains("gatewayd:"))
        XCTAssertFalse(try String(contentsOfFile: root + "/etc/group", encoding: .utf8).contains("gatewayd"))
    }
}
