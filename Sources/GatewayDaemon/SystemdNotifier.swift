import GatewayModel

#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify datagram protocol, without libsystemd: one `KEY=VALUE` line
/// set per datagram to the AF_UNIX socket named by `NOTIFY_SOCKET` (a leading
/// `@` means the abstract namespace). With no `NOTIFY_SOCKET` nothing is sent,
/// so a hand-started gatewayd behaves exactly as before.
final class SystemdNotifier: @unchecked Sendable {
    // Invariant: `fd` and `address` are fixed at init; sendto on a datagram socket is thread-safe.
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t
    /// The watchdog interval systemd expects pings within (`WATCHDOG_USEC`), if it wants any.
    let watchdogIntervalNanoseconds: UInt64?

    var isActive: Bool { fd >= 0 }

    init(environment: [String: String] = ProcessEnvironment.variables()) {
        var interval: UInt64?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            // WATCHDOG_PID, when set, names the process meant to ping: not us → no pings.
            if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() {
                interval = nil
            } else {
                interval = usec * 1000
            }
        }
        watchdogIntervalNanoseconds = interval
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty,
              path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            fd = -1
            addressLength = 0
            return
        }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        // Abstract names are not NUL-terminated: the length says where they end.
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends one notification (lines joined by newlines). Never blocks for long:
    /// a datagram to a socket nobody reads fails at once and is ignored.
    @discardableResult
    func notify(_ lines: String...) -> Bool {
        guard fd >= 0 else { return false }
        let text = lines.joined(separator: "\n")
        let sent = text.withCString { p in
            withUnsafePointer(to: &address) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, p, strlen(p), Int32(MSG_NOSIGNAL), $0, addressLength)
                }
            }
        }
        return sent >= 0
    }

    func ready(status: String) { notify("READY=1", "STATUS=\(status)") }
    func reloading() {
        // systemd ≥ 253 wants the monotonic time with RELOADING=1 (Type=notify-reload); older ones ignore it.
        notify("RELOADING=1", "MONOTONIC_USEC=\(SystemClock.monotonicNow() / 1000)")
    }
    func stopping() { notify("STOPPING=1", "STATUS=stopping: finishing in-flight work") }
    func status(_ text: String) { notify("STATUS=\(text)") }
    func watchdogPing() { notify("WATCHDOG=1") }
}
