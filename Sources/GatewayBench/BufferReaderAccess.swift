import BufferStore
import Foundation

/// Read-only questions the suites ask a buffer after a run.
enum BufferReaderAccess {
    static func lastSeq(path: String) throws -> UInt64 {
        try BufferReader(path: path).lastSeq()
    }
}

extension BufferStore {
    /// Waits until the writer has committed through `seq`.
    ///
    /// `flushAndWait` alone is not enough: its barrier travels in the control
    /// inbox and fires after the next commit group, while readings still queued
    /// in the ingress queue behind that group are not yet committed (reported
    /// in docs/performance.md). Polls `statistics()` every millisecond.
    func waitCommitted(through seq: UInt64, timeout: Double = 600) throws {
        let deadline = monotonicSeconds() + timeout
        while statistics().lastSeq < seq {
            if monotonicSeconds() > deadline { throw BenchFailure("the store committed only through seq \(statistics().lastSeq) of \(seq)") }
            usleep(1000)
        }
        flushAndWait()
    }
}
