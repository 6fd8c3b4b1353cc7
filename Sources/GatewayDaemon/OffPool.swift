import GatewayModel

/// Runs blocking work (joining threads, SQLite at startup) on a thread of its
/// own, so it never occupies the cooperative pool.
func offPool<T>(_ name: String, _ body: @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
        let t = OwnerThread(name: name) {
            do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
        }
        t.startDetached()
    }
}
