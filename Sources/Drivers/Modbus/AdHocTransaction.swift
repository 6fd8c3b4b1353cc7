import GatewayModel

/// A raw request from outside the bus thread, waiting in the bus's queue.
///
/// The continuation is resumed exactly once: by the owner thread with the
/// answer, by `stop()` with `busStopped`, or by task cancellation.
final class AdHocTransaction: @unchecked Sendable {
    // Invariant: `continuation` and `finished` are only touched with `lock` held.
    let request: RegisterRequest
    private let lock = ConditionLock()
    private var continuation: CheckedContinuation<RegisterResponse, Error>?
    private var finished = false
    private var pendingResult: Result<RegisterResponse, Error>?

    init(request: RegisterRequest) { self.request = request }

    func attach(_ c: CheckedContinuation<RegisterResponse, Error>) {
        lock.lock()
        if let pending = pendingResult {
            lock.unlock()
            c.resume(with: pending)
            return
        }
        continuation = c
        lock.unlock()
    }

    /// Whether nobody waits for the answer any more (cancelled): the owner skips it.
    var isFinished: Bool { lock.withLock { finished } }

    func finish(_ result: Result<RegisterResponse, Error>) {
        lock.lock()
        if finished { lock.unlock(); return }
        finished = true
        guard let c = continuation else {
            // Cancelled before the continuation was attached: attach() resumes.
            pendingResult = result
            lock.unlock()
            return
        }
        continuation = nil
        lock.unlock()
        c.resume(with: result)
    }
}
