#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated OS thread for a component that makes blocking C calls
/// (libmodbus, serial reads, sqlite3_step), so they never occupy Swift's
/// cooperative thread pool.
public final class OwnerThread: @unchecked Sendable {
    // Invariant: `thread` is written once in start() and read in join() by the starter.
    private var thread: pthread_t?
    private let name: String
    private let body: () -> Void
    private let finished = ConditionLock()
    private var isFinished = false

    public init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }

    public func start() {
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { raw in
            let me = Unmanaged<OwnerThread>.fromOpaque(raw!).takeRetainedValue()
            me.nameCurrentThread()
            me.body()
            me.finished.withLock { me.isFinished = true; me.finished.broadcast() }
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = t
    }

    /// Names the OS thread (`top -H`, `ps -L`, gdb and crash traces show it);
    /// Linux keeps the first 15 bytes. Glibc's `pthread_setname_np` is not
    /// visible to Swift, so this writes the kernel's own file for it.
    private func nameCurrentThread() {
        #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #endif
    }

    /// Starts a thread nobody will join: its resources go back to the system when the body returns.
    public func startDetached() {
        start()
        if let t = thread {
            pthread_detach(t)
            thread = nil
        }
    }

    /// Blocks the caller until the body has returned.
    public func join() {
        guard let t = thread else { return }
        pthread_join(t, nil)
        thread = nil
    }

    /// Waits for the body to return without blocking forever; false on timeout.
    public func waitFinished(timeoutNanoseconds: UInt64) -> Bool {
        let deadline = SystemClock.monotonicNow() + timeoutNanoseconds
        return finished.withLock {
            while !isFinished {
                if !finished.wait(untilMonotonicNanoseconds: deadline) && !isFinished { return false }
            }
            return true
        }
    }
}
