#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with one condition variable, for the hand-offs between the
/// gateway's own threads (bus threads, the store writer, the uplink).
public final class ConditionLock: @unchecked Sendable {
    // Invariant: `mutex` and `cond` are only touched through the methods below.
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        // Timed waits use the monotonic clock so a wall-clock step cannot stretch them.
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    public func lock() { pthread_mutex_lock(&mutex) }
    public func unlock() { pthread_mutex_unlock(&mutex) }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock(); defer { unlock() }
        return try body()
    }

    /// Waits (lock held) until signalled.
    public func wait() { pthread_cond_wait(&cond, &mutex) }

    /// Waits (lock held) until signalled or the monotonic deadline passes. Returns false on timeout.
    @discardableResult
    public func wait(untilMonotonicNanoseconds deadline: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(&cond, &mutex, &ts) == 0
    }

    public func signal() { pthread_cond_signal(&cond) }
    public func broadcast() { pthread_cond_broadcast(&cond) }
}

/// A bounded FIFO between two threads.
///
/// Policy when full: **the producer blocks** (`put`) until there is room or the
/// queue is closed. Nothing is ever dropped here; a stage that must not block
/// uses `offer` and decides itself what to do with a refusal.
public final class BoundedQueue<Element>: @unchecked Sendable {
    // Invariant: `items`, `head`, `count` and `closed` are only accessed with `lock` held.
    private let lock = ConditionLock()
    /// A ring that grows (doubling) up to `capacity`: the store ingress is sized for a
    /// long stall (65,536 records) but holds a few hundred in steady state, and a ring
    /// allocated whole would keep its pages resident for nothing.
    private var items: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    /// Set by `wake`, consumed by the next `take`: a wake-up that comes while nobody waits is not lost.
    private var wakePending = false
    /// How many elements the waiting consumer wants before it is worth waking
    /// (1 unless it is gathering a batch); see `take(max:untilMonotonicNanoseconds:gathering:)`.
    private var wakeAt = 1
    /// An urgent element arrived since the last gathering `take` (a barrier someone waits on).
    private var urgentPending = false
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        items = Array(repeating: nil, count: Swift.min(capacity, Self.initialRing))
    }

    /// The ring a new queue starts with (it doubles on demand up to `capacity`).
    public static var initialRing: Int { 256 }

    /// Appends, blocking while the queue is full. Returns false if the queue was closed (the element was not taken).
    /// An `urgent` element wakes a consumer even while it gathers a batch.
    @discardableResult
    public func put(_ element: Element, urgent: Bool = false) -> Bool {
        lock.lock(); defer { lock.unlock() }
        while count == capacity && !closed { lock.wait() }
        if closed { return false }
        append(element, urgent: urgent)
        return true
    }

    /// Appends if there is room now; never blocks.
    public func offer(_ element: Element) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if closed || count == capacity { return false }
        append(element)
        return true
    }

    /// Takes up to `max` elements, waiting until at least one is there, the
    /// monotonic deadline passes (`nil`: no deadline) or the queue is closed and empty.
    public func take(max: Int, untilMonotonicNanoseconds deadline: UInt64? = nil) -> [Element] {
        lock.lock(); defer { lock.unlock() }
        defer { wakePending = false }
        while count == 0 && !closed && !wakePending {
            if let deadline {
                if !lock.wait(untilMonotonicNanoseconds: deadline) && count == 0 { return [] }
            } else {
                lock.wait()
            }
        }
        let out = popFront(max: max)
        if count == 0 { urgentPending = false }
        lock.broadcast()
        return out
    }

    /// Waits while a consumer gathers a batch: returns once `enough` elements
    /// are queued, an urgent one arrives, the queue is full or closed, or the
    /// deadline passes, then takes up to `max`. Ordinary `put`s and `wake`s
    /// below that threshold do not wake it, which is the point: a store writer
    /// gathering a commit group sleeps once instead of once per poll.
    public func take(max: Int, untilMonotonicNanoseconds deadline: UInt64, gathering enough: Int) -> [Element] {
        lock.lock(); defer { lock.unlock() }
        wakeAt = Swift.max(1, Swift.min(enough, capacity))
        defer { wakeAt = 1; wakePending = false }
        while count < wakeAt && !closed && !urgentPending {
            if !lock.wait(untilMonotonicNanoseconds: deadline) { break }
        }
        urgentPending = false
        let out = popFront(max: max)
        if count == 0 { urgentPending = false }
        lock.broadcast()
        return out
    }

    /// Takes what is there now without waiting.
    public func drain(max: Int = .max) -> [Element] {
        lock.lock(); defer { lock.unlock() }
        let out = popFront(max: max)
        if count == 0 { urgentPending = false }
        lock.broadcast()
        return out
    }

    /// Makes a consumer blocked in `take` return (possibly with nothing), e.g.
    /// because work arrived on another path.
    public func wake() {
        lock.withLock {
            wakePending = true
            // A consumer gathering a batch looks at everything when the batch closes anyway.
            if wakeAt == 1 { lock.broadcast() }
        }
    }

    /// After close, `put` and `offer` refuse, and `take` returns what is left then empty arrays.
    public func close() {
        lock.withLock { closed = true; lock.broadcast() }
    }

    public var isClosed: Bool { lock.withLock { closed } }
    public var depth: Int { lock.withLock { count } }

    private func popFront(max: Int) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(Swift.min(max, count))
        while count > 0 && out.count < max {
            out.append(items[head]!)
            items[head] = nil
            head = (head + 1) % items.count
            count -= 1
        }
        // Give a stall's backlog back once it has drained (not after every small burst).
        if count == 0 && items.count >= 16 * Self.initialRing {
            items = Array(repeating: nil, count: Self.initialRing)
            head = 0
        }
        return out
    }

    private func append(_ element: Element, urgent: Bool = false) {
        if count == items.count {
            // Only reached below `capacity` (callers refuse or wait when full): grow, oldest first.
            var grown: [Element?] = []
            grown.reserveCapacity(Swift.min(capacity, items.count * 2))
            for i in 0..<count { grown.append(items[(head + i) % items.count]) }
            grown.append(contentsOf: repeatElement(nil, count: Swift.min(capacity, items.count * 2) - count))
            items = grown
            head = 0
        }
        items[(head + count) % items.count] = element
        count += 1
        if urgent { urgentPending = true }
        // Below a gathering consumer's threshold nobody needs waking (a futex call saved per element).
        if count >= wakeAt || urgent || count == capacity { lock.broadcast() }
    }
}

/// A one-shot gate: `wait` blocks until `open` has been called (once is enough).
public final class Latch: @unchecked Sendable {
    // Invariant: `isOpen` is guarded by `lock`.
    private let lock = ConditionLock()
    private var isOpen = false

    public init() {}

    public func open() {
        lock.withLock { isOpen = true; lock.broadcast() }
    }

    public func wait() {
        lock.withLock { while !isOpen { lock.wait() } }
    }
}
