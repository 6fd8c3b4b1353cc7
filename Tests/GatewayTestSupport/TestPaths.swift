import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where things are when tests run, and fresh places to put files.
public enum TestPaths {
    /// The package root (the folder with Package.swift).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("cannot find Package.swift above \(#filePath)")
    }()

    /// The build products folder holding the test bundle and the executables.
    public static let productsDirectory: String = {
        var candidates: [String] = []
        let arg0 = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        candidates.append(arg0.deletingLastPathComponent().path)
        for b in Bundle.allBundles { candidates.append(b.bundleURL.deletingLastPathComponent().path) }
        for c in candidates where FileManager.default.fileExists(atPath: c + "/gatewayd") { return c }
        return candidates.first ?? "."
    }()

    /// The path of one of the package's executables. Fails loudly (never skips) when it was not built.
    public static func executable(_ name: String) -> String {
        let path = productsDirectory + "/" + name
        precondition(FileManager.default.isExecutableFile(atPath: path),
                     "\(name) is not built at \(path): run `swift build` (make test does) before `swift test`")
        return path
    }

    /// The path of a system program this test needs (mosquitto, openssl…). Fails loudly when it is missing.
    public static func systemProgram(_ name: String) -> String {
        for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"] {
            let p = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        preconditionFailure("\(name) is not installed: `make test` installs it (apt-get install), or install it by hand")
    }

    /// A new empty directory under /tmp, removed by nobody (CI machines are fresh); names say which test made it.
    public static func temporaryDirectory(_ label: String = "test") -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("gatewayd-\(label)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        return base.path
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp -> Int32 in
                guard bind(fd, sp, len) == 0 else { return -1 }
                return getsockname(fd, sp, &len)
            }
        }
        precondition(rc == 0, "cannot find a free port")
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes.
    @discardableResult
    public static func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}
