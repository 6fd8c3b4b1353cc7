import BufferStore
import GatewayConfig
import GatewayModel
import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon as one Service: starts the runtime, tells systemd it is ready,
/// reloads on SIGHUP, and on SIGTERM/SIGINT (graceful shutdown) stops it, with
/// every blocking step off the pool.
struct GatewayService: Service {
    let runtime: GatewayRuntime
    let configPath: String
    let notifier: SystemdNotifier
    let health: HealthReporting

    func run() async throws {
        // Trap SIGHUP before READY=1: from then on `systemctl reload` may come at any time.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try await offPool("startup") { try runtime.start() }
        let reporter = HealthReporter(runtime: runtime, notifier: notifier, settings: health,
                                      logger: runtime.logger.with(label: "health"))
        let status = try await offPool("status") { reporter.statusLine() }
        notifier.ready(status: status)
        reporter.start()
        MallocArenas.releaseFreedPages()

        for await _ in hangups.cancelOnGracefulShutdown() {
            notifier.reloading()
            await reload()
            let line = try await offPool("status") { reporter.statusLine() }
            notifier.ready(status: line)
            MallocArenas.releaseFreedPages()
        }

        notifier.stopping()
        try await offPool("shutdown") {
            reporter.stop()
            runtime.stop()
        }
    }

    /// Re-reads the configuration with the start-up reader; applies it, or keeps
    /// the running one and logs every problem. Either way one audit row says so.
    private func reload() async {
        let log = runtime.logger
        log.notice("reload requested (SIGHUP): reading the configuration", metadata: ["config": "\(configPath)"])
        let path = configPath
        let runtime = self.runtime
        let outcome: (action: String, detail: String)
        do {
            let new = try await offPool("reload") { try ConfigReader.load(path: path) }
            let notes = try await offPool("reload") { try runtime.reload(to: new) }
            log.notice("reload applied", metadata: ["changes": "\(notes.joined(separator: "; "))"])
            outcome = ("reload", notes.joined(separator: "; "))
        } catch let problems as ConfigProblems {
            for p in problems.problems { log.error("\(p.description)") }
            log.error("reload rejected: the configuration has \(problems.problems.count) problem(s); the running configuration stays")
            runtime.noteRejectedReload()
            outcome = ("reload-rejected", problems.problems.map(\.description).joined(separator: "; "))
        } catch {
            log.error("reload rejected: \(error); the running configuration stays")
            runtime.noteRejectedReload()
            outcome = ("reload-rejected", "\(error)")
        }
        let at = runtime.clock.wallMilliseconds()
        let buffer = runtime.configuration.gateway.bufferPath
        do {
            try await offPool("audit") {
                try BufferMaintenance(path: buffer).recordAudit(action: outcome.action, detail: "\(path): \(outcome.detail)",
                                                                rows: 0, actor: AuditActor.current, nowMilliseconds: at)
            }
        } catch {
            log.warning("reload not recorded in the audit log", metadata: ["error": "\(error)"])
        }
    }
}
