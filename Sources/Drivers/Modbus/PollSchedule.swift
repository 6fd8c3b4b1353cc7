/// When each device of a bus is due: a min-heap on absolute monotonic
/// deadlines. Ties go to the entry scheduled first, so devices with the same
/// interval take turns (round-robin) instead of one starving the others.
struct PollSchedule {
    struct Entry: Equatable {
        var deadlineNanoseconds: UInt64
        /// Insertion order: the tie-breaker.
        var order: UInt64
        var device: Int
    }

    private var heap: [Entry] = []
    private var nextOrder: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var next: Entry? { heap.first }

    mutating func schedule(device: Int, atNanoseconds deadline: UInt64) {
        heap.append(Entry(deadlineNanoseconds: deadline, order: nextOrder, device: device))
        nextOrder &+= 1
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(nowNanoseconds now: UInt64) -> Entry? {
        guard let first = heap.first, first.deadlineNanoseconds <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    /// The next slot on a device's grid: `previous + interval`, skipping the
    /// slots already missed (a slow bus polls late, never twice in a row to
    /// catch up), without drifting off the grid.
    static func nextDeadline(after previous: UInt64, intervalNanoseconds interval: UInt64, nowNanoseconds now: UInt64) -> UInt64 {
        let interval = max(interval, 1)
        var next = previous &+ interval
        if next <= now {
            let missed = (now - next) / interval + 1
            next += missed * interval
        }
        return next
    }

    private func less(_ a: Entry, _ b: Entry) -> Bool {
        (a.deadlineNanoseconds, a.order) < (b.deadlineNanoseconds, b.order)
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            if !less(heap[i], heap[parent]) { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count && less(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count && less(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
