import Logging
import ServiceLifecycle

/// The daemon as one Service: starts the runtime, waits for SIGTERM/SIGINT
/// (graceful shutdown), then stops it with every blocking step off the pool.
struct GatewayService: Service {
    let runtime: GatewayRuntime

    func run() async throws {
        try await offPool("startup") { try runtime.start() }
        // Suspends until the service group begins graceful shutdown.
        try? await gracefulShutdown()
        try await offPool("shutdown") { runtime.stop() }
    }
}
